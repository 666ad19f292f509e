/* byrel.h — heapy's two classifiers by incoming references: byvia (the
 * set of relation labels by which an object's referrers hold it) and
 * byrcs (the set of its referrers' kinds, by clodo).  Used by
 * partition.c; the kinds' atoms are what symbolic selection compares.
 *
 * Invariants, established by byrel_classify():
 *  1. A class is a set of atoms: sorted ascending, without duplicates;
 *     two members are in the same class iff their atom sets are equal.
 *  2. An atom is a string: for byvia a relation label as via.h renders
 *     it ("['key']", ".key"; a root's ".i0_modules"), for byrcs a clodo
 *     kind's display ("str", "dict of __main__.A", "dict (no owner)") or
 *     "RootState" for a root.  Atoms are numbered in order of first use;
 *     distinct numbers have distinct strings.
 *  3. Cost: O(nodes + edges) time with one pass over the edge rows (byvia)
 *     or the reverse edges (byrcs); each distinct via word is rendered
 *     once.  Memory while classifying: 4 B per edge and per object
 *     (byvia's slots), a bitmap of the members, and the atom and class
 *     tables, which the result keeps.
 */
#ifndef REMORA_BYREL_H
#define REMORA_BYREL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remora/remora.h"
#include "via.h"

struct byrel;

/* Classifies every member of set (by REMORA_BY_VIA or REMORA_BY_RCS):
 * cls_of[k] is the class of the k-th member in ascending order. */
struct remora_error *byrel_classify(const struct remora_idset *set,
				    enum remora_classifier by, uint32_t *cls_of,
				    struct byrel **ret);
void byrel_destroy(struct byrel *b);

uint32_t byrel_class_count(const struct byrel *b);
/* The atoms of class cls (invariant 1), valid until byrel_destroy(). */
void byrel_class_atoms(const struct byrel *b, uint32_t cls,
		       const uint32_t **atoms, uint32_t *n);
const char *byrel_atom_text(const struct byrel *b, uint32_t atom);
/* The atom whose text is text, or UINT32_MAX if no member had it. */
uint32_t byrel_atom_find(const struct byrel *b, const char *text);

/* heapy's row label of class cls: byvia the atoms' reprs sorted and
 * joined by ", "; byrcs the atoms sorted and joined, "<Nothing>" for
 * none.  in_and: as a part of a combined classifier's label, in braces. */
void byrel_label(const struct byrel *b, uint32_t cls, bool in_and,
		 struct via_text *out);

#endif
