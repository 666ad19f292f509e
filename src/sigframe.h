/* sigframe.h — the x86-64 Linux rt_sigreturn frame, laid out by hand: a
 * way home for a thread remora has moved.  A `ret` whose stack pointer
 * is at a frame takes its first word, __restore_rt, whose rt_sigreturn
 * puts every register, the extended state and the signal mask back as
 * the frame says.  The agent builds one to leave (agent.c); gdb's side
 * builds them before it moves the thread at all (thread_run.c), so that
 * a gdb killed at any moment leaves a thread that still goes home.
 *
 * Freestanding (the agent links it): memcpy and memset only.
 *
 *   at     +0    pretcode: __restore_rt (the `ret` consumes it)
 *          +8    ucontext: uc_flags, uc_link, uc_stack (24 bytes),
 *          +40     uc_mcontext (struct sigcontext, 256 bytes:
 *                    r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp,
 *                    rip, eflags, cs/gs/fs/ss, err, trapno, oldmask, cr2,
 *                    fpstate, reserved[8]),
 *          +296    uc_sigmask
 *          +304  siginfo (128 bytes, unused)
 *   fp     (64-byte aligned, above the frame) the extended state: an
 *          XSAVE image with the software bytes the kernel checks (magic1
 *          in the legacy area's reserved bytes, magic2 after the image),
 *          or a plain FXSAVE image; or elsewhere, shared with another
 *          frame (fpstate says where).
 *   below  (less the 128-byte red zone) the thread's stack as it was
 */
#ifndef REMORA_SIGFRAME_H
#define REMORA_SIGFRAME_H

#include <stdbool.h>
#include <stdint.h>

enum {
	REMORA_SIGFRAME_RED_ZONE = 128,
	REMORA_SIGFRAME_FXSAVE_SIZE = 512,
	REMORA_SIGFRAME_SIZE = 8 + 304 + 128,
	/* ss_flags no kernel accepts: rt_sigreturn then leaves the thread's
	 * alternate signal stack as it is (its error is ignored) */
	REMORA_SIGFRAME_KEEP_ALTSTACK = 4,
};

/* The registers a frame restores, in the agent's order (agent.h:
 * struct remora_agent_regs has the same layout). */
struct remora_sigframe_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

struct remora_sigframe_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

/* Where a frame goes under `below` (a stack pointer: the red zone under
 * it is kept): its address, and in *fp where its own extended state of
 * xsize bytes goes (xsize 0: the frame carries none, and *fp is where
 * the frame would start). */
uint64_t remora_sigframe_place(uint64_t below, uint32_t xsize, uint64_t *fp);

/* The bytes [fp, fp + xsize + 4) given the extended state image x
 * (xsize bytes, written at host): with xsave, the software bytes and
 * magic2 the kernel checks; without, a plain FXSAVE image. */
void remora_sigframe_xstate(uint8_t *host, const void *x, uint32_t xsize, bool xsave,
			    uint64_t xfeatures);

/* The frame itself (REMORA_SIGFRAME_SIZE bytes) written at host, which
 * stands for target address `at`: the registers r, the extended state at
 * target address fp (xsave: an XSAVE image), the signal mask, and the
 * alternate signal stack to set. */
void remora_sigframe_fill(uint8_t *host, const struct remora_sigframe_regs *r, uint64_t fp,
			  bool xsave, uint64_t sigmask, uint64_t restore_rt,
			  const struct remora_sigframe_stack *altstack);

#endif
