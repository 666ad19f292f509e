/* error.c — construction and accessors of struct remora_error (error.h). */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct remora_error remora_error_no_memory = {
	.code = REMORA_ERROR_NO_MEMORY,
	.errnum = ENOMEM,
	.message = (char *)"out of memory",
};

static struct remora_error *error_vcreate(enum remora_error_code code,
					  const char *fmt, va_list ap)
{
	struct remora_error *err = calloc(1, sizeof(*err));
	if (!err)
		return &remora_error_no_memory;
	if (vasprintf(&err->message, fmt, ap) < 0) {
		free(err);
		return &remora_error_no_memory;
	}
	err->code = code;
	return err;
}

struct remora_error *remora_error_create(enum remora_error_code code,
					 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct remora_error *err = error_vcreate(code, fmt, ap);
	va_end(ap);
	return err;
}

struct remora_error *remora_error_create_at(enum remora_error_code code,
					    uint64_t address,
					    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct remora_error *err = error_vcreate(code, fmt, ap);
	va_end(ap);
	if (err != &remora_error_no_memory) {
		err->has_address = true;
		err->address = address;
	}
	return err;
}

struct remora_error *remora_error_create_os(int errnum, const char *path,
					    const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (r < 0)
		return &remora_error_no_memory;

	struct remora_error *err = calloc(1, sizeof(*err));
	if (!err)
		goto out_what;
	err->path = strdup(path ? path : "");
	if (!err->path)
		goto out_err;
	if (asprintf(&err->message, "%s: %s: %s", what, err->path,
		     strerror(errnum)) < 0)
		goto out_path;
	err->code = REMORA_ERROR_OS;
	err->errnum = errnum;
	free(what);
	return err;

out_path:
	free(err->path);
out_err:
	free(err);
out_what:
	free(what);
	return &remora_error_no_memory;
}

void remora_error_destroy(struct remora_error *err)
{
	if (!err || err == &remora_error_no_memory)
		return;
	free(err->path);
	free(err->message);
	free(err);
}

enum remora_error_code remora_error_code(const struct remora_error *err)
{
	return err ? err->code : REMORA_ERROR_OK;
}

const char *remora_error_message(const struct remora_error *err)
{
	return err ? err->message : "success";
}

int remora_error_errno(const struct remora_error *err)
{
	return err ? err->errnum : 0;
}

const char *remora_error_path(const struct remora_error *err)
{
	return err ? err->path : NULL;
}

bool remora_error_has_address(const struct remora_error *err)
{
	return err && err->has_address;
}

uint64_t remora_error_address(const struct remora_error *err)
{
	return err ? err->address : 0;
}
