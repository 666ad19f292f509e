/* via.h — heapy's relation labels for the via words of a snapshot's edges
 * and roots ("['key']", ".attr", "[3]", ".f_locals['x']", ".i0_modules"),
 * in the two forms heapy prints them: whole, as byvia shows a relation,
 * and abbreviated like reprlib, as a shortest path shows one step.
 *
 * Invariants:
 *  1. A label depends only on the via word, the where word (roots) and
 *     the snapshot: equal inputs give equal bytes, so callers may cache
 *     labels per via word.
 *  2. Rendering never fails: unknown kinds and fields render as heapy's
 *     "no relation" ".??"; the output is cut to the buffer, and the
 *     length it would have had is returned (snprintf's contract).
 * Vocabulary: snapshot_format.h (via kinds, fields, root kinds); the
 * table of heapy's spellings: the top of via.c.
 */
#ifndef REMORA_VIA_H
#define REMORA_VIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remora/remora.h"

/* A growing-or-truncating text buffer: len counts every byte appended,
 * at most cap - 1 of them are stored, buf stays NUL-terminated. */
struct via_text {
	char *buf;
	size_t cap;
	size_t len;
};

void via_text_init(struct via_text *t, char *buf, size_t cap);
void via_text_put(struct via_text *t, const char *s, size_t n);
void via_text_printf(struct via_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Python's repr() of the str whose UTF-8 text is s[0..n); truncated: the
 * text is a prefix of the str (the snapshot keeps 64 characters), shown
 * with "..." before the closing quote. */
void via_text_repr_str(struct via_text *t, const char *s, size_t n,
		       bool truncated);

/* The display text of object id for a key or name: repr() of a str or
 * int, else "<type at 0xADDR>"; abbreviated as reprlib.repr() does when
 * abbreviate (strings over 30 characters keep 13 + "..." + 14). */
void via_text_object(struct via_text *t, const struct remora_snapshot *snap,
		     uint32_t id, bool abbreviate);

/* A module's __name__ (its dict's value under '__name__'), or
 * "<module at 0xADDR>" if the snapshot does not hold it as a str. */
void via_text_module_name(struct via_text *out,
			  const struct remora_snapshot *snap, uint32_t id);

/* Whether the snapshot's str repr of id was cut (its size says the str
 * is longer than the text kept). */
bool via_str_truncated(const struct remora_snapshot *snap, uint32_t id);

#endif
