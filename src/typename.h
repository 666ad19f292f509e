/* typename.h — heapy's display name for a type, from the qualified name and
 * __module__ a snapshot's TYPE record carries ("str", "function",
 * "types.CodeType", "__main__.Foo").
 *
 * Invariant: the rule is heapy's (guppy3 Summary_str.str_type), evaluated
 * for the target's Python version rather than gdb's: module and function
 * types get their short names, types bound in builtins their bare name,
 * types exported by the types module "types.<Name>" (the alphabetically
 * last alias), and every other type "<module>.<__name__>".
 */
#ifndef REMORA_TYPENAME_H
#define REMORA_TYPENAME_H

#include <stddef.h>
#include <stdint.h>

/* A new NUL-terminated display name (free() it), or NULL when out of
 * memory.  name and module need not be NUL-terminated. */
char *remora_typename_render(const char *name, size_t name_len,
			     const char *module, size_t module_len,
			     uint32_t python_version);

#endif
