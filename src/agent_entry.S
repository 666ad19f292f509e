/* agent_entry.S — the way into the agent and back out (agent.h, steps 2-5).
 *
 * gdb enters remora_agent_enter with rsp at the top of the agent's stack
 * (16-byte aligned) and rdi = &remora_agent_ctl, the thread's own
 * registers saved in remora_agent_saved.  Everything here addresses the
 * agent's globals relative to rip: no relocation.  rbx keeps the control
 * block throughout (callee-saved: the C calls leave it).
 *
 * Signals are blocked for the whole walk (the walk must not run a signal
 * handler's code) but for the agent's own stop signal at its stops; the
 * thread's own mask comes back with rt_sigreturn, and a signal that
 * arrived meanwhile is delivered then, at home.  The extended register
 * state (x87, SSE, AVX...) is saved first and goes home in the same
 * frame: the agent's code, and the target's tp_traverse functions it
 * calls, may use vector registers.
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

	/* struct remora_agent_ctl (agent.h) */
	.equ C_SCRATCH, 80
	.equ C_SCRATCH_SIZE, 88
	.equ C_LIBC_SYSCALL, 96
	.equ C_TEXT_SIZE, 112
	.equ SYS_mprotect, 10
	.equ SYS_munmap, 11
	.equ PROT_READ_EXEC, 5
	.equ REMORA_AGENT_DONE, 2

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
	mov C_TEXT_SIZE(%rbx), %rsi             /* mapped writable and executable */
	test %rsi, %rsi                         /* to be written: now only r-x */
	jz 0f
	mov $SYS_mprotect, %eax
	mov C_SCRATCH(%rbx), %rdi
	mov $PROT_READ_EXEC, %edx
	syscall
0:	cmpl $0, remora_agent_xsave_mode(%rip)
	je 1f
	mov $-1, %eax
	mov $-1, %edx
	xsave64 agent_xstate(%rip)
	jmp 2f
1:	fxsave64 agent_xstate(%rip)
2:	cld
	mov %rbx, %rdi
	call remora_agent_run
	mov %rbx, %rdi
	mov $REMORA_AGENT_DONE, %esi            /* gdb reads the result */
	call remora_agent_stop
	cmpq $0, C_LIBC_SYSCALL(%rbx)
	je 5f
	/* home by rt_sigreturn (agent.h, step 5); every signal is blocked
	 * until it restores the thread's own mask */
	mov %rbx, %rdi
	call remora_agent_leave
	mov C_SCRATCH(%rbx), %rdi
	mov C_SCRATCH_SIZE(%rbx), %rsi
	mov C_LIBC_SYSCALL(%rbx), %rcx
	mov %rax, %rsp                          /* the frame: libc's ret takes */
	mov $SYS_munmap, %eax                   /* its first word, __restore_rt */
	jmp *%rcx
5:	/* no libc pieces: gdb puts the thread back at the DONE stop; only
	 * gdb being gone brings it here, and the scratch area stays */
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
	.size remora_agent_enter, . - remora_agent_enter

	.section .note.GNU-stack,"",@progbits
