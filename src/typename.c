/* typename.c — heapy's type display names (typename.h).
 *
 * heapy builds its table at run time from the interpreter it runs in:
 * the types module's exports as "types.<Name>" (sorted, so of two aliases
 * the later name wins), then builtins' types by bare name, then the short
 * names "module" and "function".  remora cannot look at the target's
 * modules, so the two tables below hold what they contain, keyed by the
 * type's own name (its tp_name, module "builtins").
 */
#include "typename.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Types bound by name in builtins (classes and exceptions). */
static const char *const builtin_type_names[] = {
	"object", "type", "int", "bool", "float", "complex", "str", "bytes",
	"bytearray", "list", "tuple", "dict", "set", "frozenset", "range",
	"slice", "memoryview", "property", "staticmethod", "classmethod",
	"super", "enumerate", "filter", "map", "zip", "reversed",
	"BaseException", "BaseExceptionGroup", "Exception", "ExceptionGroup",
	"ArithmeticError", "AssertionError", "AttributeError",
	"BlockingIOError", "BrokenPipeError", "BufferError", "BytesWarning",
	"ChildProcessError", "ConnectionAbortedError", "ConnectionError",
	"ConnectionRefusedError", "ConnectionResetError",
	"DeprecationWarning", "EOFError", "EncodingWarning",
	"FileExistsError", "FileNotFoundError", "FloatingPointError",
	"FutureWarning", "GeneratorExit", "ImportError", "ImportWarning",
	"IndentationError", "IndexError", "InterruptedError",
	"IsADirectoryError", "KeyError", "KeyboardInterrupt", "LookupError",
	"MemoryError", "ModuleNotFoundError", "NameError",
	"NotADirectoryError", "NotImplementedError", "OSError",
	"OverflowError", "PendingDeprecationWarning", "PermissionError",
	"ProcessLookupError", "PythonFinalizationError", "RecursionError",
	"ReferenceError", "ResourceWarning", "RuntimeError",
	"RuntimeWarning", "StopAsyncIteration", "StopIteration",
	"SyntaxError", "SyntaxWarning", "SystemError", "SystemExit",
	"TabError", "TimeoutError", "TypeError", "UnboundLocalError",
	"UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError",
	"UnicodeTranslateError", "UnicodeWarning", "UserWarning",
	"ValueError", "Warning", "ZeroDivisionError", "_IncompleteInputError",
};

/* Builtin types the types module exports, with the name heapy shows and
 * the first Python version (PY_VERSION_HEX) that exports them. */
struct types_export {
	const char *tp_name;
	const char *display;
	uint32_t since;
};

static const struct types_export types_exports[] = {
	{ .tp_name = "async_generator", .display = "types.AsyncGeneratorType", .since = 0x03060000 },
	{ .tp_name = "builtin_function_or_method", .display = "types.BuiltinMethodType", .since = 0 },
	{ .tp_name = "cell", .display = "types.CellType", .since = 0x03080000 },
	{ .tp_name = "classmethod_descriptor", .display = "types.ClassMethodDescriptorType", .since = 0x03070000 },
	{ .tp_name = "code", .display = "types.CodeType", .since = 0 },
	{ .tp_name = "coroutine", .display = "types.CoroutineType", .since = 0x03050000 },
	{ .tp_name = "ellipsis", .display = "types.EllipsisType", .since = 0x030a0000 },
	{ .tp_name = "frame", .display = "types.FrameType", .since = 0 },
	{ .tp_name = "generator", .display = "types.GeneratorType", .since = 0 },
	{ .tp_name = "getset_descriptor", .display = "types.GetSetDescriptorType", .since = 0 },
	{ .tp_name = "mappingproxy", .display = "types.MappingProxyType", .since = 0 },
	{ .tp_name = "member_descriptor", .display = "types.MemberDescriptorType", .since = 0 },
	{ .tp_name = "method_descriptor", .display = "types.MethodDescriptorType", .since = 0x03070000 },
	{ .tp_name = "method", .display = "types.MethodType", .since = 0 },
	{ .tp_name = "method-wrapper", .display = "types.MethodWrapperType", .since = 0x03070000 },
	{ .tp_name = "NoneType", .display = "types.NoneType", .since = 0x030a0000 },
	{ .tp_name = "NotImplementedType", .display = "types.NotImplementedType", .since = 0x030a0000 },
	{ .tp_name = "PyCapsule", .display = "types.CapsuleType", .since = 0x030d0000 },
	{ .tp_name = "traceback", .display = "types.TracebackType", .since = 0 },
	{ .tp_name = "wrapper_descriptor", .display = "types.WrapperDescriptorType", .since = 0x03070000 },
};

static bool typename_equal(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static char *typename_dup(const char *s, size_t len)
{
	char *r = malloc(len + 1);
	if (r) {
		memcpy(r, s, len);
		r[len] = '\0';
	}
	return r;
}

static const char *typename_builtin(const char *name, size_t len,
				    uint32_t python_version)
{
	if (typename_equal(name, len, "function"))
		return "function";
	if (typename_equal(name, len, "module"))
		return "module";
	for (size_t i = 0; i < sizeof(types_exports) / sizeof(types_exports[0]); i++) {
		const struct types_export *t = &types_exports[i];
		if (python_version >= t->since &&
		    typename_equal(name, len, t->tp_name))
			return t->display;
	}
	for (size_t i = 0; i < sizeof(builtin_type_names) / sizeof(builtin_type_names[0]); i++) {
		if (typename_equal(name, len, builtin_type_names[i]))
			return builtin_type_names[i];
	}
	return NULL;
}

char *remora_typename_render(const char *name, size_t name_len,
			     const char *module, size_t module_len,
			     uint32_t python_version)
{
	if (typename_equal(module, module_len, "builtins")) {
		const char *known = typename_builtin(name, name_len,
						     python_version);
		if (known)
			return typename_dup(known, strlen(known));
	}
	/* heapy prints __name__, which is the qualified name's last part. */
	const char *dot = memrchr(name, '.', name_len);
	if (dot) {
		name_len -= (size_t)(dot + 1 - name);
		name = dot + 1;
	}
	if (module_len == 0)
		return typename_dup(name, name_len);
	char *r = malloc(module_len + 1 + name_len + 1);
	if (r) {
		memcpy(r, module, module_len);
		r[module_len] = '.';
		memcpy(r + module_len + 1, name, name_len);
		r[module_len + 1 + name_len] = '\0';
	}
	return r;
}
