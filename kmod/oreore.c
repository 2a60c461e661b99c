// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/oreore/bpf: write a number to run the attached BPF_PROG_TYPE_OREORE
 * program on it; read the file for the last result.
 *
 * Input is a u32 in decimal, or in hex with a 0x prefix; a leading '+' (in
 * front of either) and one trailing newline are accepted. Octal is not:
 * "010" is ten. A write with a NUL byte in it is rejected rather than read
 * up to the NUL.
 *
 * Only root may read the result (0600): it is whatever the attached program
 * returned, and a program loaded with CAP_PERFMON may return pointer bits.
 *
 * Errors: -EINVAL for anything else, -ERANGE above U32_MAX, -ENODEV when
 * no program is attached, and -ENODATA on a read before the first
 * successful write. A failed write keeps the previous result.
 *
 * /sys/oreore/runs counts the runs since the module was loaded, so that a
 * test can hold it against the program's run_cnt.
 *
 * /sys/oreore/softirq takes and gives the same, but the program runs from
 * a tasklet, in softirq context, where bpf_oreore_run()'s callers may also
 * call it; the write waits for that run. One softirq run at a time.
 *
 * Writers run the program concurrently: bpf_oreore_run() needs no lock.
 * The last result is global, not per writer: with several writers a read
 * returns whichever run stored its result last.
 */

#include <linux/bpf_oreore.h>
#include <linux/completion.h>
#include <linux/interrupt.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#if !IS_ENABLED(CONFIG_BPF_OREORE)
#error "oreore needs a kernel built with CONFIG_BPF_OREORE=y (kernel-patches/)"
#endif

static struct kobject *oreore_kobj;

/* Guards the last result and the run count, not the run itself */
static DEFINE_MUTEX(oreore_lock);
static u32 oreore_result;
static bool oreore_have_result;
static u64 oreore_runs;

static int oreore_parse(const char *buf, u32 *val)
{
	/* kstrtou32() takes one leading '+' and, in base 16, a "0x"; but
	 * with base 0 it would read a leading 0 as octal, so pick the base
	 * here, after the sign.
	 */
	const char *digits = buf[0] == '+' ? buf + 1 : buf;

	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
		return kstrtou32(buf, 16, val);
	return kstrtou32(buf, 10, val);
}

/* The softirq run's input and answer, handed over under the mutex */
static DEFINE_MUTEX(oreore_softirq_lock);
static DECLARE_COMPLETION(oreore_softirq_done);
static u32 oreore_softirq_in, oreore_softirq_out;
static int oreore_softirq_err;

static void oreore_softirq(struct tasklet_struct *t)
{
	if (WARN_ON_ONCE(!in_serving_softirq()))
		oreore_softirq_err = -EIO;
	else
		oreore_softirq_err = bpf_oreore_run(oreore_softirq_in,
						    &oreore_softirq_out);
	complete(&oreore_softirq_done);
}

static DECLARE_TASKLET(oreore_tasklet, oreore_softirq);

static int oreore_run_softirq(u32 in, u32 *out)
{
	int ret;

	mutex_lock(&oreore_softirq_lock);
	oreore_softirq_in = in;
	reinit_completion(&oreore_softirq_done);
	tasklet_schedule(&oreore_tasklet);
	wait_for_completion(&oreore_softirq_done);
	ret = oreore_softirq_err;
	*out = oreore_softirq_out;
	mutex_unlock(&oreore_softirq_lock);

	return ret;
}

static ssize_t oreore_store(const char *buf, size_t count,
			    int (*run)(u32 in, u32 *out))
{
	u32 in, out;
	int ret;

	if (strnlen(buf, count) != count)
		return -EINVAL;

	ret = oreore_parse(buf, &in);
	if (ret)
		return ret;

	ret = run(in, &out);
	if (ret)
		return ret;

	mutex_lock(&oreore_lock);
	oreore_result = out;
	oreore_have_result = true;
	oreore_runs++;
	mutex_unlock(&oreore_lock);

	return count;
}

static ssize_t bpf_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	return oreore_store(buf, count, bpf_oreore_run);
}

static ssize_t softirq_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	return oreore_store(buf, count, oreore_run_softirq);
}

static ssize_t bpf_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	ssize_t ret = -ENODATA;

	mutex_lock(&oreore_lock);
	if (oreore_have_result)
		ret = sysfs_emit(buf, "%u\n", oreore_result);
	mutex_unlock(&oreore_lock);

	return ret;
}

static ssize_t softirq_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return bpf_show(kobj, attr, buf);
}

static ssize_t runs_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	ssize_t ret;

	mutex_lock(&oreore_lock);
	ret = sysfs_emit(buf, "%llu\n", oreore_runs);
	mutex_unlock(&oreore_lock);

	return ret;
}

static struct kobj_attribute bpf_attr = __ATTR_RW_MODE(bpf, 0600);
static struct kobj_attribute softirq_attr = __ATTR_RW_MODE(softirq, 0600);
static struct kobj_attribute runs_attr = __ATTR_RO(runs);

static struct attribute *oreore_attrs[] = {
	&bpf_attr.attr,
	&softirq_attr.attr,
	&runs_attr.attr,
	NULL,
};

static const struct attribute_group oreore_group = {
	.attrs = oreore_attrs,
};

static int __init oreore_init(void)
{
	int ret;

	oreore_kobj = kobject_create_and_add("oreore", NULL);
	if (!oreore_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(oreore_kobj, &oreore_group);
	if (ret)
		kobject_put(oreore_kobj);
	return ret;
}

static void __exit oreore_exit(void)
{
	/* Remove the files first: the last put may release the kobject
	 * later (CONFIG_DEBUG_KOBJECT_RELEASE delays it by seconds), and
	 * the files must not outlive this module's text. kobject_del()
	 * waits for the writers that are still in bpf_store().
	 */
	kobject_del(oreore_kobj);
	kobject_put(oreore_kobj);
	/* No writer is left to schedule it */
	tasklet_kill(&oreore_tasklet);
}

module_init(oreore_init);
module_exit(oreore_exit);

MODULE_DESCRIPTION("Runs the attached BPF_PROG_TYPE_OREORE program from sysfs");
MODULE_LICENSE("GPL");
