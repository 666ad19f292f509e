/* agent_entry.S — the way into the agent and back out (agent.h, steps 2-4).
 *
 * gdb enters remora_agent_enter with rsp at the top of the agent's stack
 * (16-byte aligned) and rdi = &remora_agent_ctl, the thread's own
 * registers saved in remora_agent_saved.  Everything here addresses the
 * agent's globals relative to rip: no relocation, no register but the
 * ones it restores.
 *
 * Signals are blocked for the whole walk (the walk must not run a signal
 * handler's code, and a stop in the middle must not come from one); the
 * thread's own mask is put back before remora_agent_done, so a signal
 * that arrived meanwhile is delivered there, on the agent's stack, like
 * any signal in any code.  The extended register state (x87, SSE, AVX...)
 * is saved first and restored last: the agent's code, and the target's
 * tp_traverse functions it calls, may use vector registers.
 */
	.text

	.equ SYS_rt_sigprocmask, 14
	.equ SIG_SETMASK, 2
	.equ R_RAX, 0
	.equ R_RBX, 8
	.equ R_RCX, 16
	.equ R_RDX, 24
	.equ R_RSI, 32
	.equ R_RDI, 40
	.equ R_RBP, 48
	.equ R_RSP, 56
	.equ R_R8, 64
	.equ R_R9, 72
	.equ R_R10, 80
	.equ R_R11, 88
	.equ R_R12, 96
	.equ R_R13, 104
	.equ R_R14, 112
	.equ R_R15, 120
	.equ R_RIP, 128
	.equ R_RFLAGS, 136

	.globl remora_agent_enter
	.type remora_agent_enter, @function
remora_agent_enter:
	mov %rdi, %rbx                          /* the control block, kept */
	mov $SYS_rt_sigprocmask, %eax
	mov $SIG_SETMASK, %edi
	lea agent_mask_all(%rip), %rsi
	lea agent_mask_saved(%rip), %rdx
	mov $8, %r10d
	syscall
	cmpl $0, remora_agent_xsave_mode(%rip)
	je 1f
	mov $-1, %eax
	mov $-1, %edx
	xsave64 agent_xstate(%rip)
	jmp 2f
1:	fxsave64 agent_xstate(%rip)
2:	cld
	mov %rbx, %rdi
	call remora_agent_run
	cmpl $0, remora_agent_xsave_mode(%rip)
	je 3f
	mov $-1, %eax
	mov $-1, %edx
	xrstor64 agent_xstate(%rip)
	jmp 4f
3:	fxrstor64 agent_xstate(%rip)
4:	mov $SYS_rt_sigprocmask, %eax
	mov $SIG_SETMASK, %edi
	lea agent_mask_saved(%rip), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall

	.globl remora_agent_done
	.type remora_agent_done, @function
remora_agent_done:
	/* gdb's hardware breakpoint: gdb puts the thread back itself.  What
	 * follows runs only if gdb is gone. */
	nop
	pushq remora_agent_saved+R_RFLAGS(%rip)
	popfq
	mov remora_agent_saved+R_RAX(%rip), %rax
	mov remora_agent_saved+R_RBX(%rip), %rbx
	mov remora_agent_saved+R_RCX(%rip), %rcx
	mov remora_agent_saved+R_RDX(%rip), %rdx
	mov remora_agent_saved+R_RSI(%rip), %rsi
	mov remora_agent_saved+R_RDI(%rip), %rdi
	mov remora_agent_saved+R_RBP(%rip), %rbp
	mov remora_agent_saved+R_R8(%rip), %r8
	mov remora_agent_saved+R_R9(%rip), %r9
	mov remora_agent_saved+R_R10(%rip), %r10
	mov remora_agent_saved+R_R11(%rip), %r11
	mov remora_agent_saved+R_R12(%rip), %r12
	mov remora_agent_saved+R_R13(%rip), %r13
	mov remora_agent_saved+R_R14(%rip), %r14
	mov remora_agent_saved+R_R15(%rip), %r15
	mov remora_agent_saved+R_RSP(%rip), %rsp
	jmp *remora_agent_saved+R_RIP(%rip)
	.size remora_agent_done, . - remora_agent_done
	.size remora_agent_enter, . - remora_agent_enter

	.data
	.balign 8
agent_mask_all:
	.quad -1
agent_mask_saved:
	.quad 0

	.bss
	.balign 64
agent_xstate:
	.zero 16384                             /* any XSAVE layout fits */

	.section .note.GNU-stack,"",@progbits
