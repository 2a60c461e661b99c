// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kore/bpf: write a number to run the program of the attached
 * BPF_PROG_TYPE_KORE link on it (the context's in; cpu is the writer's
 * CPU, out starts at zero); read the file for the last return value, and
 * /sys/kore/out for the out that run left in the context.
 *
 * Input is parsed as /sys/oreore/bpf parses it: a u32 in decimal, or in
 * hex with a 0x prefix, a leading '+' and one trailing newline accepted.
 * Both files read 0600/0400: a program loaded with CAP_PERFMON may leave
 * pointer bits in either.
 *
 * Errors: -EINVAL for anything else, -ERANGE above U32_MAX, -ENODEV when
 * no link is attached, and -ENODATA on a read before the first successful
 * write. A failed write keeps the previous results.
 *
 * /sys/kore/runs counts the runs since the module was loaded.
 *
 * /sys/kore/softirq takes and gives what /sys/kore/bpf does, but the
 * program runs from a tasklet, in softirq context, where bpf_kore_run()'s
 * callers may also call it; the write waits for that run. One softirq run
 * at a time.
 */

#include <linux/bpf_kore.h>
#include <linux/completion.h>
#include <linux/interrupt.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#if !IS_ENABLED(CONFIG_BPF_KORE)
#error "kore needs a kernel built with CONFIG_BPF_KORE=y (kernel-patches/)"
#endif

static struct kobject *kore_kobj;

/* Guards the last result and the run count, not the run itself */
static DEFINE_MUTEX(kore_lock);
static u32 kore_result;
static u32 kore_out;
static bool kore_have_result;
static u64 kore_runs;

static int kore_parse(const char *buf, u32 *val)
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

/* The softirq run's input and answers, handed over under the mutex */
static DEFINE_MUTEX(kore_softirq_lock);
static DECLARE_COMPLETION(kore_softirq_done);
static u32 kore_softirq_in, kore_softirq_result, kore_softirq_out;
static int kore_softirq_err;

static void kore_softirq(struct tasklet_struct *t)
{
	if (WARN_ON_ONCE(!in_serving_softirq()))
		kore_softirq_err = -EIO;
	else
		kore_softirq_err = bpf_kore_run(kore_softirq_in,
						&kore_softirq_result,
						&kore_softirq_out);
	complete(&kore_softirq_done);
}

static DECLARE_TASKLET(kore_tasklet, kore_softirq);

static int kore_run_softirq(u32 in, u32 *result, u32 *out)
{
	int ret;

	mutex_lock(&kore_softirq_lock);
	kore_softirq_in = in;
	reinit_completion(&kore_softirq_done);
	tasklet_schedule(&kore_tasklet);
	wait_for_completion(&kore_softirq_done);
	ret = kore_softirq_err;
	*result = kore_softirq_result;
	*out = kore_softirq_out;
	mutex_unlock(&kore_softirq_lock);

	return ret;
}

static ssize_t kore_store(const char *buf, size_t count,
			  int (*run)(u32 in, u32 *result, u32 *out))
{
	u32 in, result, out;
	int ret;

	if (strnlen(buf, count) != count)
		return -EINVAL;

	ret = kore_parse(buf, &in);
	if (ret)
		return ret;

	ret = run(in, &result, &out);
	if (ret)
		return ret;

	mutex_lock(&kore_lock);
	kore_result = result;
	kore_out = out;
	kore_have_result = true;
	kore_runs++;
	mutex_unlock(&kore_lock);

	return count;
}

static ssize_t bpf_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	return kore_store(buf, count, bpf_kore_run);
}

static ssize_t softirq_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	return kore_store(buf, count, kore_run_softirq);
}

static ssize_t bpf_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	ssize_t ret = -ENODATA;

	mutex_lock(&kore_lock);
	if (kore_have_result)
		ret = sysfs_emit(buf, "%u\n", kore_result);
	mutex_unlock(&kore_lock);

	return ret;
}

static ssize_t softirq_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return bpf_show(kobj, attr, buf);
}

static ssize_t out_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	ssize_t ret = -ENODATA;

	mutex_lock(&kore_lock);
	if (kore_have_result)
		ret = sysfs_emit(buf, "%u\n", kore_out);
	mutex_unlock(&kore_lock);

	return ret;
}

static ssize_t runs_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	ssize_t ret;

	mutex_lock(&kore_lock);
	ret = sysfs_emit(buf, "%llu\n", kore_runs);
	mutex_unlock(&kore_lock);

	return ret;
}

static struct kobj_attribute bpf_attr = __ATTR_RW_MODE(bpf, 0600);
static struct kobj_attribute softirq_attr = __ATTR_RW_MODE(softirq, 0600);
static struct kobj_attribute out_attr = __ATTR_RO_MODE(out, 0400);
static struct kobj_attribute runs_attr = __ATTR_RO(runs);

static struct attribute *kore_attrs[] = {
	&bpf_attr.attr,
	&softirq_attr.attr,
	&out_attr.attr,
	&runs_attr.attr,
	NULL,
};

static const struct attribute_group kore_group = {
	.attrs = kore_attrs,
};

static int __init kore_init(void)
{
	int ret;

	kore_kobj = kobject_create_and_add("kore", NULL);
	if (!kore_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(kore_kobj, &kore_group);
	if (ret)
		kobject_put(kore_kobj);
	return ret;
}

static void __exit kore_exit(void)
{
	/* Remove the files first: the last put may release the kobject
	 * later (CONFIG_DEBUG_KOBJECT_RELEASE delays it by seconds), and
	 * the files must not outlive this module's text. kobject_del()
	 * waits for the writers that are still in bpf_store().
	 */
	kobject_del(kore_kobj);
	kobject_put(kore_kobj);
	/* No writer is left to schedule it */
	tasklet_kill(&kore_tasklet);
}

module_init(kore_init);
module_exit(kore_exit);

MODULE_DESCRIPTION("Runs the attached BPF_PROG_TYPE_KORE program from sysfs");
MODULE_LICENSE("GPL");
