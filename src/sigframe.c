/* sigframe.c — rt_sigreturn frames (sigframe.h has the layout). */
#include "sigframe.h"

#include <stddef.h>
#include <string.h>

enum {
	UC_FP_XSTATE = 1,
	UC_SIGCONTEXT_SS = 2,
	USER_CS = 0x33,
	USER_DS = 0x2b,
	FP_XSTATE_MAGIC1 = 0x46505853,
	FP_XSTATE_MAGIC2 = 0x46505845,
	SW_BYTES = 464,              /* the legacy area's software-reserved bytes */
};

struct sigcontext64 {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate, reserved[8];
};

struct rt_sigframe64 {
	uint64_t pretcode;
	uint64_t uc_flags;
	uint64_t uc_link;
	struct remora_sigframe_stack uc_stack;
	struct sigcontext64 mc;
	uint64_t uc_sigmask;
	uint8_t info[128];
};

_Static_assert(sizeof(struct sigcontext64) == 256, "struct sigcontext");
_Static_assert(offsetof(struct rt_sigframe64, mc) == 8 + 40, "uc_mcontext");
_Static_assert(offsetof(struct rt_sigframe64, uc_sigmask) == 8 + 296, "uc_sigmask");
_Static_assert(sizeof(struct rt_sigframe64) == REMORA_SIGFRAME_SIZE, "rt_sigframe");

struct fx_sw_bytes {
	uint32_t magic1;
	uint32_t extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size;
	uint32_t padding[7];
};

uint64_t remora_sigframe_place(uint64_t below, uint32_t xsize, uint64_t *fp)
{
	uint64_t top = below - REMORA_SIGFRAME_RED_ZONE;
	*fp = xsize ? (top - xsize - 4) & ~(uint64_t)63 : top;
	return (*fp - sizeof(struct rt_sigframe64)) & ~(uint64_t)15;
}

void remora_sigframe_xstate(uint8_t *host, const void *x, uint32_t xsize, bool xsave,
			    uint64_t xfeatures)
{
	memcpy(host, x, xsize);
	if (!xsave) {
		memset(host + SW_BYTES, 0, REMORA_SIGFRAME_FXSAVE_SIZE - SW_BYTES);
		return;
	}
	struct fx_sw_bytes sw = {
		.magic1 = FP_XSTATE_MAGIC1,
		.extended_size = xsize + 4,
		.xfeatures = xfeatures,
		.xstate_size = xsize,
	};
	memcpy(host + SW_BYTES, &sw, sizeof sw);
	uint32_t magic2 = FP_XSTATE_MAGIC2;
	memcpy(host + xsize, &magic2, sizeof magic2);
}

void remora_sigframe_fill(uint8_t *host, const struct remora_sigframe_regs *r, uint64_t fp,
			  bool xsave, uint64_t sigmask, uint64_t restore_rt,
			  const struct remora_sigframe_stack *altstack)
{
	struct rt_sigframe64 f;
	memset(&f, 0, sizeof f);
	f.pretcode = restore_rt;
	f.uc_flags = (xsave ? UC_FP_XSTATE : 0) | UC_SIGCONTEXT_SS;
	f.uc_stack = *altstack;
	f.mc = (struct sigcontext64){
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rdi = r->rdi, .rsi = r->rsi, .rbp = r->rbp, .rbx = r->rbx,
		.rdx = r->rdx, .rax = r->rax, .rcx = r->rcx, .rsp = r->rsp,
		.rip = r->rip, .eflags = r->rflags,
		.cs = USER_CS, .ss = USER_DS,
		.fpstate = fp,
	};
	f.uc_sigmask = sigmask;
	memcpy(host, &f, sizeof f);
}
