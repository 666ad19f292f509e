/* agent_image.h — the agent as gdb maps it into a target: remora-agent.so
 * read from disk, laid out at a base address and relocated, without the
 * dynamic loader (no dlopen: nothing allocated in the target, no loader
 * lock, no link-map change; DESIGN.md invariant 2).
 *
 * Accepted: an x86-64 ELF64 shared object whose relocations are all
 * R_X86_64_RELATIVE and which imports nothing (the build makes it so;
 * tests/agent/check-imports.sh checks it).  Anything else is refused.
 */
#ifndef REMORA_AGENT_IMAGE_H
#define REMORA_AGENT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "remora/remora.h"

struct remora_agent_image;

/* Reads and checks the file.  Errors: REMORA_ERROR_OS (errno and path),
 * REMORA_ERROR_FORMAT ("not an x86-64 ELF shared object", "relocation of
 * type N", ...). */
REMORA_EXPORT struct remora_error *
remora_agent_image_open(const char *path, struct remora_agent_image **ret);
/* NULL does nothing. */
REMORA_EXPORT void remora_agent_image_destroy(struct remora_agent_image *img);

/* Bytes the image spans once laid out (a multiple of the page size). */
REMORA_EXPORT uint64_t remora_agent_image_size(const struct remora_agent_image *img);
/* Bytes from the start that hold no writable data (code and constants):
 * what gdb makes read-only and executable; a multiple of the page size. */
REMORA_EXPORT uint64_t remora_agent_image_text_size(const struct remora_agent_image *img);
/* The offset of an exported symbol from the base, or -1. */
REMORA_EXPORT int64_t remora_agent_image_symbol(const struct remora_agent_image *img,
						const char *name);
/* Fills out[0 .. size) with the image laid out at base and relocated. */
REMORA_EXPORT void remora_agent_image_render(const struct remora_agent_image *img,
					     uint64_t base, void *out);

#endif
