/* error.h — remora's one error type: what failed, where, and why.
 *
 * Invariants: every failing library call returns a struct remora_error *
 * (NULL means success) and the caller handles it or returns it; nothing in
 * the library prints.  Creating an error that cannot be allocated yields
 * &remora_error_no_memory, which is static, so reporting out-of-memory
 * never allocates; remora_error_destroy() ignores it and NULL.
 * The public accessors are in include/remora/remora.h.
 */
#ifndef REMORA_ERROR_H
#define REMORA_ERROR_H

#include <stdbool.h>
#include <stdint.h>

#include "remora/remora.h"

struct remora_error {
	enum remora_error_code code;
	int errnum;          /* errno for REMORA_ERROR_OS, else 0 */
	bool has_address;
	uint64_t address;    /* target address, or file offset for FORMAT */
	char *path;          /* file involved, or NULL */
	char *message;       /* full, human-readable, one line */
};

extern struct remora_error remora_error_no_memory;

/* A new error with a printf-formatted message. */
struct remora_error *remora_error_create(enum remora_error_code code,
					 const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* As remora_error_create(), with an address (or file offset) attached. */
struct remora_error *remora_error_create_at(enum remora_error_code code,
					    uint64_t address,
					    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A REMORA_ERROR_OS error: the message is "<fmt...>: <path>: strerror". */
struct remora_error *remora_error_create_os(int errnum, const char *path,
					    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
