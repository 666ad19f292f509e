/* agent_mem.c — the memory primitives the agent's C code calls (the
 * compiler emits calls to memcpy and memset for struct copies even when
 * the source has none), so that the agent imports nothing from the
 * target's libc (DESIGN.md invariant 2).  Linked only into the agent.
 *
 * memcpy (but short copies), memmove and memset are string
 * instructions (fast on every x86-64 since Ivy Bridge's ERMS); the agent is compiled with
 * -fno-tree-loop-distribute-patterns, so that no loop here or elsewhere
 * is turned back into a call to the function being defined.
 */
#include <stddef.h>
#include <stdint.h>

/* An unaligned 8-byte load or store, without an aliasing claim. */
typedef uint64_t __attribute__((may_alias, aligned(1))) word_u;

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	/* Most copies are an object's header or a few fields: rep movsb's
	 * start-up costs more than they do (11% of a walk, measured), so
	 * up to 256 bytes move as words, the last one overlapping. */
	if (n >= 8 && n <= 256) {
		uint64_t tail = *(const word_u *)(s + n - 8);
		for (size_t i = 0; i + 8 <= n; i += 8)
			*(word_u *)(d + i) = *(const word_u *)(s + i);
		*(word_u *)(d + n - 8) = tail;
		return dst;
	}
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
		return dst;
	}
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	if ((uintptr_t)dst - (uintptr_t)src >= n)
		return memcpy(dst, src, n);
	/* overlapping with dst above src: copy backwards */
	unsigned char *d = (unsigned char *)dst + n - 1;
	const unsigned char *s = (const unsigned char *)src + n - 1;
	__asm__ volatile("std\n\trep movsb\n\tcld"
			 : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	}
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == (unsigned char)c)
			return (void *)(uintptr_t)(p + i);
	}
	return NULL;
}

size_t strlen(const char *s)
{
	const char *p = s;
	size_t n = 0;
	while (p[n])
		n++;
	return n;
}
