// SPDX-License-Identifier: GPL-2.0
/*
 * oreore_ops: a struct_ops type and a kfunc set registered from a module
 * (Linux 6.9 and later; written against Debian's 6.12).
 *
 * struct oreore_ops has one required op, run(), which gets a struct
 * oreore_ops_args whose in, cpu and obj it may read and whose out is the only
 * field it may write; one optional op, note(), called with what run()
 * returned; and a name. One instance at a time may be registered: through
 * BPF_MAP_UPDATE_ELEM on a struct_ops map without BPF_F_LINK, or through
 * BPF_LINK_CREATE on one with it. BPF_LINK_UPDATE swaps the instance.
 *
 * The kfuncs, for BPF_PROG_TYPE_STRUCT_OPS programs of this type and for
 * BPF_PROG_TYPE_SYSCALL programs:
 *
 *   struct oreore_obj *bpf_oreore_obj_acquire(u32 id)  KF_ACQUIRE | KF_RET_NULL
 *   void bpf_oreore_obj_release(struct oreore_obj *obj) KF_RELEASE
 *   void bpf_oreore_obj_set(struct oreore_obj *obj, u32 val)  KF_TRUSTED_ARGS
 *   u32 bpf_oreore_sleep(u32 usecs)                    KF_SLEEPABLE
 *   u32 bpf_oreore_destructive(void)                   KF_DESTRUCTIVE
 *
 * Objects 0 to OREORE_OPS_NR_OBJS - 1 exist; acquire returns NULL for any
 * other id. The destructive kfunc destroys nothing: it counts its calls.
 *
 * Files in /sys/oreore_ops:
 *
 *   run   (0600) write a u32 (decimal, or hex with 0x) to call the
 *         registered instance's run() on it, then its note(); -ENODEV when
 *         none is registered. A read returns what the last run() returned,
 *         -ENODATA before the first.
 *   out   (0400) args->out as the last run() left it (-ENODATA before).
 *   name  (0444) the registered instance's name; -ENODEV when none is.
 *   objs  (0444) one line per object: "<id> <refs> <val>", refs counting
 *         the references BPF programs hold.
 *
 * run() and note() are called under SRCU: note() may be sleepable, run()
 * may not (check_member() refuses it), and runs with preemption off so
 * that args->cpu is the CPU it runs on. unreg() and update() wait for the
 * calls in flight before the kernel frees the old instance.
 *
 * Every struct_ops map of this type, and every program that calls one of
 * these kfuncs, holds a reference on this module: rmmod fails with EAGAIN
 * until they are gone.
 */

#include <linux/bpf.h>
#include <linux/bpf_verifier.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nospec.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#if !IS_ENABLED(CONFIG_BPF_JIT) || !IS_ENABLED(CONFIG_BPF_SYSCALL) || \
	!IS_ENABLED(CONFIG_DEBUG_INFO_BTF_MODULES)
#error "oreore_ops needs CONFIG_BPF_JIT, CONFIG_BPF_SYSCALL and CONFIG_DEBUG_INFO_BTF_MODULES"
#endif

/*
 * A kfunc's pointer arguments must be trusted: with KF_TRUSTED_ARGS up to
 * 6.x; 7.x made that every kfunc's rule and dropped the flag.
 */
#ifndef KF_TRUSTED_ARGS
#define KF_TRUSTED_ARGS 0
#endif

#define OREORE_OPS_NAME_LEN	16
#define OREORE_OPS_NR_OBJS	4
#define OREORE_OPS_MAX_SLEEP_US	1000

struct oreore_obj;

struct oreore_ops_args {
	u32 in;		/* read-only to the program */
	u32 cpu;	/* read-only to the program */
	u32 out;	/* the only field the program may write */
	/*
	 * Read-only: object 0. A pointer loaded from an argument is not
	 * trusted, so a KF_TRUSTED_ARGS kfunc refuses it.
	 */
	struct oreore_obj *obj;
};

struct oreore_ops {
	/* Required; never sleepable. */
	u32 (*run)(struct oreore_ops_args *args);
	/* Optional; may be sleepable. Gets what run() returned. */
	void (*note)(u32 v);
	/* NUL-terminated; copied by init_member(). */
	char name[OREORE_OPS_NAME_LEN];
};

struct oreore_obj {
	refcount_t ref;	/* 1 for the table, plus one per acquire */
	u32 id;
	u32 val;	/* what bpf_oreore_obj_set() wrote last */
};

static struct oreore_obj oreore_objs[OREORE_OPS_NR_OBJS];
static atomic_t oreore_destructs = ATOMIC_INIT(0);

/* This module's BTF, from oreore_ops_init(); NULL if it has none. */
static struct btf *oreore_btf;

/*
 * struct oreore_ops_args in this module's BTF, found by check_member() for
 * run, which the verifier calls before it walks the program: an external
 * module cannot look a type up by name (btf_find_by_name_kind() is not
 * exported), and BTF_ID_LIST ids may need a relocation (btf_relocate_id())
 * that is not exported either.
 */
static const struct btf_type *oreore_args_type;

/* The registered instance: written under oreore_ops_lock, read under SRCU. */
static DEFINE_MUTEX(oreore_ops_lock);
static struct oreore_ops __rcu *oreore_ops_cur;
DEFINE_STATIC_SRCU(oreore_ops_srcu);

/* kfuncs */

__bpf_kfunc_start_defs();

/**
 * bpf_oreore_obj_acquire() - Take a reference on an object.
 * @id: The object's id.
 *
 * Return: The object, or NULL if there is none with that id. The program
 * must pass a non-NULL result to bpf_oreore_obj_release().
 */
__bpf_kfunc struct oreore_obj *bpf_oreore_obj_acquire(u32 id)
{
	struct oreore_obj *obj;

	if (id >= ARRAY_SIZE(oreore_objs))
		return NULL;
	obj = &oreore_objs[array_index_nospec(id, ARRAY_SIZE(oreore_objs))];
	if (!refcount_inc_not_zero(&obj->ref))
		return NULL;
	return obj;
}

/**
 * bpf_oreore_obj_release() - Drop a reference taken by bpf_oreore_obj_acquire().
 * @obj: The object.
 */
__bpf_kfunc void bpf_oreore_obj_release(struct oreore_obj *obj)
{
	/* The table's own reference keeps the count above zero. */
	refcount_dec(&obj->ref);
}

/**
 * bpf_oreore_obj_set() - Store a value in an object.
 * @obj: A trusted pointer to the object (from bpf_oreore_obj_acquire()).
 * @val: The value; /sys/oreore_ops/objs shows it.
 */
__bpf_kfunc void bpf_oreore_obj_set(struct oreore_obj *obj, u32 val)
{
	WRITE_ONCE(obj->val, val);
}

/**
 * bpf_oreore_sleep() - Sleep; only sleepable programs may call it.
 * @usecs: How long, capped at OREORE_OPS_MAX_SLEEP_US.
 *
 * Return: The microseconds slept for.
 */
__bpf_kfunc u32 bpf_oreore_sleep(u32 usecs)
{
	might_sleep();
	usecs = min_t(u32, usecs, OREORE_OPS_MAX_SLEEP_US);
	/* usleep_range(), not fsleep(): that busy-waits up to 10 us */
	if (usecs)
		usleep_range(usecs, 2 * usecs);
	return usecs;
}

/**
 * bpf_oreore_destructive() - A KF_DESTRUCTIVE kfunc that destroys nothing.
 *
 * Return: How many times it has been called, this call included.
 */
__bpf_kfunc u32 bpf_oreore_destructive(void)
{
	return atomic_inc_return(&oreore_destructs);
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(oreore_kfunc_ids)
BTF_ID_FLAGS(func, bpf_oreore_obj_acquire, KF_ACQUIRE | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_oreore_obj_release, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_oreore_obj_set, KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_oreore_sleep, KF_SLEEPABLE)
BTF_ID_FLAGS(func, bpf_oreore_destructive, KF_DESTRUCTIVE)
BTF_KFUNCS_END(oreore_kfunc_ids)

/*
 * Registered for BPF_PROG_TYPE_STRUCT_OPS, the set would serve every
 * struct_ops type (tcp_congestion_ops, ...): keep it to oreore_ops. A
 * non-zero return makes the verifier say "calling kernel function %s is
 * not allowed".
 */
static int oreore_kfunc_filter(const struct bpf_prog *prog, u32 kfunc_id)
{
	if (prog->type != BPF_PROG_TYPE_STRUCT_OPS)
		return 0;
	return prog->aux->attach_btf == READ_ONCE(oreore_btf) ? 0 : -EACCES;
}

static const struct btf_kfunc_id_set oreore_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &oreore_kfunc_ids,
	.filter = oreore_kfunc_filter,
};

/* struct_ops: what the verifier asks */

static bool oreore_ops_is_valid_access(int off, int size, enum bpf_access_type type,
				       const struct bpf_prog *prog,
				       struct bpf_insn_access_aux *info)
{
	return bpf_tracing_btf_ctx_access(off, size, type, prog, info);
}

/*
 * Called for every write through a PTR_TO_BTF_ID in a program of this
 * type (reads go through the kernel's own BTF walk, which refuses only
 * what lies beyond the struct).
 */
static int oreore_ops_btf_struct_access(struct bpf_verifier_log *log,
					const struct bpf_reg_state *reg,
					int off, int size)
{
	const int out_start = offsetof(struct oreore_ops_args, out);
	const int out_end = offsetofend(struct oreore_ops_args, out);

	if (btf_type_by_id(reg->btf, reg->btf_id) != READ_ONCE(oreore_args_type)) {
		bpf_log(log, "oreore_ops: only struct oreore_ops_args is writable\n");
		return -EACCES;
	}
	if (off < out_start || off + size > out_end) {
		bpf_log(log, "oreore_ops: write at off %d size %d: only out is writable\n",
			off, size);
		return -EACCES;
	}
	return NOT_INIT;
}

static const struct bpf_verifier_ops oreore_ops_verifier_ops = {
	.get_func_proto = bpf_base_func_proto,
	.is_valid_access = oreore_ops_is_valid_access,
	.btf_struct_access = oreore_ops_btf_struct_access,
};

/* run's type is u32 (*)(struct oreore_ops_args *): find the struct. */
static int oreore_ops_find_args_type(const struct btf *btf, const struct btf_member *member)
{
	const struct btf_param *params;
	const struct btf_type *t;

	t = btf_type_by_id(btf, member->type);
	if (!t || !btf_type_is_ptr(t))
		return -EINVAL;
	t = btf_type_by_id(btf, t->type);
	if (!t || !btf_type_is_func_proto(t) || btf_type_vlen(t) != 1)
		return -EINVAL;
	params = btf_params(t);
	t = btf_type_by_id(btf, params[0].type);
	if (!t || !btf_type_is_ptr(t))
		return -EINVAL;
	t = btf_type_by_id(btf, t->type);
	if (!t || !__btf_type_is_struct(t) || t->size != sizeof(struct oreore_ops_args))
		return -EINVAL;

	WRITE_ONCE(oreore_args_type, t);
	return 0;
}

/*
 * Called at BPF_PROG_LOAD, before the program is verified; an error makes
 * the verifier say "attach to unsupported member %s of struct %s".
 */
static int oreore_ops_check_member(const struct btf_type *t,
				   const struct btf_member *member,
				   const struct bpf_prog *prog)
{
	u32 moff = __btf_member_bit_offset(t, member) / 8;

	switch (moff) {
	case offsetof(struct oreore_ops, run):
		/* run() is called with preemption off */
		if (prog->sleepable)
			return -EINVAL;
		return oreore_ops_find_args_type(prog->aux->attach_btf, member);
	case offsetof(struct oreore_ops, note):
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* struct_ops: building and registering an instance */

static int oreore_ops_init(struct btf *btf)
{
	WRITE_ONCE(oreore_btf, btf);
	return 0;
}

/*
 * Called at BPF_MAP_UPDATE_ELEM for each member; 1: handled here, 0: let
 * the kernel take it (function pointers, or members that must be zero).
 */
static int oreore_ops_init_member(const struct btf_type *t,
				  const struct btf_member *member,
				  void *kdata, const void *udata)
{
	const struct oreore_ops *uops = udata;
	struct oreore_ops *kops = kdata;
	u32 moff = __btf_member_bit_offset(t, member) / 8;

	switch (moff) {
	case offsetof(struct oreore_ops, name):
		if (!memchr(uops->name, '\0', sizeof(uops->name)))
			return -EINVAL;
		memcpy(kops->name, uops->name, sizeof(kops->name));
		return 1;
	default:
		return 0;
	}
}

/* Called at BPF_MAP_UPDATE_ELEM once every member is in kdata. */
static int oreore_ops_validate(void *kdata)
{
	const struct oreore_ops *ops = kdata;

	if (!ops->run)
		return -EINVAL;
	return 0;
}

static int oreore_ops_reg(void *kdata, struct bpf_link *link)
{
	int err = 0;

	mutex_lock(&oreore_ops_lock);
	if (rcu_access_pointer(oreore_ops_cur))
		err = -EEXIST;
	else
		rcu_assign_pointer(oreore_ops_cur, kdata);
	mutex_unlock(&oreore_ops_lock);

	return err;
}

static void oreore_ops_unreg(void *kdata, struct bpf_link *link)
{
	mutex_lock(&oreore_ops_lock);
	if (rcu_access_pointer(oreore_ops_cur) == kdata)
		RCU_INIT_POINTER(oreore_ops_cur, NULL);
	mutex_unlock(&oreore_ops_lock);

	/*
	 * The kernel frees kdata after an RCU and an RCU-tasks grace period,
	 * which do not wait for a sleepable note() in flight: wait here.
	 */
	synchronize_srcu(&oreore_ops_srcu);
}

/* BPF_LINK_UPDATE: the kernel has checked that both are oreore_ops. */
static int oreore_ops_update(void *kdata, void *old_kdata, struct bpf_link *link)
{
	int err = 0;

	mutex_lock(&oreore_ops_lock);
	if (rcu_access_pointer(oreore_ops_cur) != old_kdata)
		err = -EINVAL;
	else
		rcu_assign_pointer(oreore_ops_cur, kdata);
	mutex_unlock(&oreore_ops_lock);

	if (!err)
		synchronize_srcu(&oreore_ops_srcu);
	return err;
}

/*
 * CFI stubs: the trampolines take their kCFI type from these, the kernel
 * reads the ops' argument names from their BTF, and an op without a stub
 * cannot be given a program.
 */
static u32 oreore_ops__run(struct oreore_ops_args *args)
{
	return 0;
}

static void oreore_ops__note(u32 v)
{
}

static struct oreore_ops oreore_ops_cfi_stubs = {
	.run = oreore_ops__run,
	.note = oreore_ops__note,
};

static struct bpf_struct_ops oreore_bpf_ops = {
	.verifier_ops = &oreore_ops_verifier_ops,
	.init = oreore_ops_init,
	.check_member = oreore_ops_check_member,
	.init_member = oreore_ops_init_member,
	.validate = oreore_ops_validate,
	.reg = oreore_ops_reg,
	.unreg = oreore_ops_unreg,
	.update = oreore_ops_update,
	.cfi_stubs = &oreore_ops_cfi_stubs,
	.name = "oreore_ops",
	.owner = THIS_MODULE,
};

/* Calling the registered instance */

static int oreore_ops_call(u32 in, u32 *ret, u32 *out)
{
	struct oreore_ops_args args = { .in = in, .obj = &oreore_objs[0] };
	struct oreore_ops *ops;
	int err = 0;
	int idx;

	idx = srcu_read_lock(&oreore_ops_srcu);
	ops = srcu_dereference(oreore_ops_cur, &oreore_ops_srcu);
	if (!ops) {
		err = -ENODEV;
		goto unlock;
	}

	args.cpu = get_cpu();
	*ret = ops->run(&args);
	put_cpu();
	*out = args.out;

	if (ops->note)
		ops->note(*ret);
unlock:
	srcu_read_unlock(&oreore_ops_srcu, idx);
	return err;
}

/* sysfs */

static struct kobject *oreore_ops_kobj;

/* Guards the last results, not the call */
static DEFINE_MUTEX(oreore_result_lock);
static u32 oreore_last_ret;
static u32 oreore_last_out;
static bool oreore_have_result;

static int oreore_ops_parse(const char *buf, u32 *val)
{
	/*
	 * kstrtou32() takes one leading '+' and, in base 16, a "0x"; with
	 * base 0 it would read a leading 0 as octal, so pick the base here.
	 */
	const char *digits = buf[0] == '+' ? buf + 1 : buf;

	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
		return kstrtou32(buf, 16, val);
	return kstrtou32(buf, 10, val);
}

static ssize_t run_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	u32 in, ret, out;
	int err;

	if (strnlen(buf, count) != count)
		return -EINVAL;

	err = oreore_ops_parse(buf, &in);
	if (err)
		return err;

	err = oreore_ops_call(in, &ret, &out);
	if (err)
		return err;

	mutex_lock(&oreore_result_lock);
	oreore_last_ret = ret;
	oreore_last_out = out;
	oreore_have_result = true;
	mutex_unlock(&oreore_result_lock);

	return count;
}

static ssize_t run_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	ssize_t ret = -ENODATA;

	mutex_lock(&oreore_result_lock);
	if (oreore_have_result)
		ret = sysfs_emit(buf, "%u\n", oreore_last_ret);
	mutex_unlock(&oreore_result_lock);

	return ret;
}

static ssize_t out_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	ssize_t ret = -ENODATA;

	mutex_lock(&oreore_result_lock);
	if (oreore_have_result)
		ret = sysfs_emit(buf, "%u\n", oreore_last_out);
	mutex_unlock(&oreore_result_lock);

	return ret;
}

static ssize_t name_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct oreore_ops *ops;
	ssize_t ret = -ENODEV;
	int idx;

	idx = srcu_read_lock(&oreore_ops_srcu);
	ops = srcu_dereference(oreore_ops_cur, &oreore_ops_srcu);
	if (ops)
		ret = sysfs_emit(buf, "%s\n", ops->name);
	srcu_read_unlock(&oreore_ops_srcu, idx);

	return ret;
}

static ssize_t objs_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	ssize_t len = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(oreore_objs); i++) {
		const struct oreore_obj *obj = &oreore_objs[i];

		len += sysfs_emit_at(buf, len, "%u %u %u\n", obj->id,
				     refcount_read(&obj->ref) - 1, READ_ONCE(obj->val));
	}

	return len;
}

static struct kobj_attribute run_attr = __ATTR_RW_MODE(run, 0600);
static struct kobj_attribute out_attr = __ATTR_RO_MODE(out, 0400);
static struct kobj_attribute name_attr = __ATTR_RO(name);
static struct kobj_attribute objs_attr = __ATTR_RO(objs);

static struct attribute *oreore_ops_attrs[] = {
	&run_attr.attr,
	&out_attr.attr,
	&name_attr.attr,
	&objs_attr.attr,
	NULL,
};

static const struct attribute_group oreore_ops_group = {
	.attrs = oreore_ops_attrs,
};

static int __init oreore_ops_mod_init(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(oreore_objs); i++) {
		refcount_set(&oreore_objs[i].ref, 1);
		oreore_objs[i].id = i;
	}

	ret = register_bpf_struct_ops(&oreore_bpf_ops, oreore_ops);
	if (ret)
		return ret;
	/*
	 * Without module BTF the registrations succeed and do nothing (the
	 * kernel logs "missing module BTF, cannot register struct_ops");
	 * oreore_ops_init() then never ran.
	 */
	if (!oreore_btf)
		return -ENOENT;

	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_STRUCT_OPS, &oreore_kfunc_set);
	if (ret)
		return ret;
	ret = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &oreore_kfunc_set);
	if (ret)
		return ret;

	oreore_ops_kobj = kobject_create_and_add("oreore_ops", NULL);
	if (!oreore_ops_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(oreore_ops_kobj, &oreore_ops_group);
	if (ret)
		kobject_put(oreore_ops_kobj);
	return ret;
}

static void __exit oreore_ops_mod_exit(void)
{
	/*
	 * Remove the files first: the last put may release the kobject later
	 * (CONFIG_DEBUG_KOBJECT_RELEASE), and the files must not outlive this
	 * module's text.
	 */
	kobject_del(oreore_ops_kobj);
	kobject_put(oreore_ops_kobj);

	/*
	 * A registered instance belongs to a struct_ops map, which holds a
	 * reference on this module; the type and the kfunc sets go with the
	 * module's BTF.
	 */
	WARN_ON_ONCE(rcu_access_pointer(oreore_ops_cur));
}

module_init(oreore_ops_mod_init);
module_exit(oreore_ops_mod_exit);

MODULE_DESCRIPTION("A struct_ops type and kfuncs registered from a module, run from sysfs");
MODULE_LICENSE("GPL");
