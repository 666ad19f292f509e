/* test_reader.c — the memory reader: segment lookup, reads inside and
 * across segments, faults at gaps and past the end, callback segments,
 * and the host-range check the walker relies on before tp_traverse.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "reader.h"
#include "unit.h"

static uint8_t mem_a[64];
static uint8_t mem_b[32];
static uint8_t mem_c[16];

/* GIVEN three segments: A [0x1000,0x1040), B [0x1040,0x1060) adjacent to
 * A, and C [0x2000,0x2010) after a gap; all host-backed. */
static struct remora_segment segs[3];
static struct remora_reader reader;

static void setup(void)
{
	for (size_t i = 0; i < sizeof(mem_a); i++)
		mem_a[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(mem_b); i++)
		mem_b[i] = (uint8_t)(0x40 + i);
	for (size_t i = 0; i < sizeof(mem_c); i++)
		mem_c[i] = (uint8_t)(0x80 + i);
	/* deliberately unsorted */
	segs[0] = (struct remora_segment){ .start = 0x2000, .end = 0x2010, .host = mem_c };
	segs[1] = (struct remora_segment){ .start = 0x1000, .end = 0x1040, .host = mem_a };
	segs[2] = (struct remora_segment){ .start = 0x1040, .end = 0x1060, .host = mem_b };
	CU_ASSERT_TRUE(remora_reader_sort(segs, 3));
	remora_reader_init(&reader, segs, 3);
}

static void test_sort_rejects_overlap(void)
{
	struct remora_segment s[2] = {
		{ .start = 0x100, .end = 0x200 },
		{ .start = 0x1ff, .end = 0x300 },
	};
	CU_ASSERT_FALSE(remora_reader_sort(s, 2));
}

static void test_find(void)
{
	setup();
	CU_ASSERT_PTR_EQUAL(remora_reader_find(&reader, 0x1000), &segs[0]);
	CU_ASSERT_PTR_EQUAL(remora_reader_find(&reader, 0x103f), &segs[0]);
	CU_ASSERT_PTR_EQUAL(remora_reader_find(&reader, 0x1040), &segs[1]);
	CU_ASSERT_PTR_EQUAL(remora_reader_find(&reader, 0x200f), &segs[2]);
	CU_ASSERT_PTR_NULL(remora_reader_find(&reader, 0xfff));
	CU_ASSERT_PTR_NULL(remora_reader_find(&reader, 0x1060));
	CU_ASSERT_PTR_NULL(remora_reader_find(&reader, 0x2010));
	CU_ASSERT_PTR_NULL(remora_reader_find(&reader, UINT64_MAX));
	CU_ASSERT_PTR_NULL(remora_reader_find(&reader, 0));
}

static void test_read_inside_and_across(void)
{
	uint8_t buf[16];
	setup();
	/* WHEN reading inside A THEN the bytes are A's */
	CU_ASSERT_TRUE(remora_reader_read(&reader, 0x1008, buf, 8));
	CU_ASSERT_EQUAL(memcmp(buf, mem_a + 8, 8), 0);
	/* WHEN reading across the A|B boundary THEN both parts arrive */
	CU_ASSERT_TRUE(remora_reader_read(&reader, 0x103c, buf, 8));
	CU_ASSERT_EQUAL(memcmp(buf, mem_a + 60, 4), 0);
	CU_ASSERT_EQUAL(memcmp(buf + 4, mem_b, 4), 0);
	uint64_t v;
	CU_ASSERT_TRUE(remora_reader_u64(&reader, 0x2008, &v));
	uint64_t want;
	memcpy(&want, mem_c + 8, 8);
	CU_ASSERT_EQUAL(v, want);
	CU_ASSERT_EQUAL(reader.faults, 0);
}

static void test_faults(void)
{
	uint8_t buf[16];
	setup();
	/* WHEN a read runs off B's end into the gap THEN it fails at 0x1060 */
	CU_ASSERT_FALSE(remora_reader_read(&reader, 0x105c, buf, 8));
	CU_ASSERT_EQUAL(reader.fault_address, 0x1060);
	/* WHEN a read starts in the gap THEN it fails there */
	CU_ASSERT_FALSE(remora_reader_read(&reader, 0x1800, buf, 1));
	CU_ASSERT_EQUAL(reader.fault_address, 0x1800);
	/* WHEN a read ends past the last segment THEN it fails at its end */
	CU_ASSERT_FALSE(remora_reader_read(&reader, 0x2008, buf, 16));
	CU_ASSERT_EQUAL(reader.fault_address, 0x2010);
	/* WHEN a wild pointer near the top of the address space is read */
	CU_ASSERT_FALSE(remora_reader_read(&reader, UINT64_MAX - 3, buf, 8));
	CU_ASSERT_EQUAL(reader.faults, 4);
	/* THEN a good read after faults still works (cache is consistent) */
	CU_ASSERT_TRUE(remora_reader_read(&reader, 0x1000, buf, 4));
	CU_ASSERT_EQUAL(buf[3], 3);
}

static void test_direct_and_host_range(void)
{
	setup();
	CU_ASSERT_PTR_EQUAL(remora_reader_direct(&reader, 0x1010, 16), mem_a + 16);
	/* direct() never spans segments; host_range() may */
	CU_ASSERT_PTR_NULL(remora_reader_direct(&reader, 0x1038, 16));
	CU_ASSERT_TRUE(remora_reader_host_range(&reader, 0x1038, 16));
	CU_ASSERT_TRUE(remora_reader_host_range(&reader, 0x1000, 0x60));
	CU_ASSERT_FALSE(remora_reader_host_range(&reader, 0x1000, 0x61));
	CU_ASSERT_FALSE(remora_reader_host_range(&reader, 0x2000, 0x11));
	CU_ASSERT_EQUAL(reader.faults, 0);
}

/* A callback segment serving a pattern, failing for one marked address. */
static bool pattern_read(const struct remora_segment *seg, uint64_t addr,
			 void *buf, size_t len)
{
	uint8_t *out = buf;
	for (size_t i = 0; i < len; i++) {
		if (addr + i == 0x5005)
			return false;
		out[i] = (uint8_t)((addr + i) * 7);
	}
	return true;
}

static void test_callback_segment(void)
{
	struct remora_segment s[1] = {
		{ .start = 0x5000, .end = 0x6000, .read = pattern_read },
	};
	struct remora_reader r;
	uint8_t buf[4];
	remora_reader_init(&r, s, 1);
	CU_ASSERT_TRUE(remora_reader_read(&r, 0x5100, buf, 4));
	CU_ASSERT_EQUAL(buf[1], (uint8_t)(0x5101 * 7));
	/* the callback's own failure is a fault, not garbage */
	CU_ASSERT_FALSE(remora_reader_read(&r, 0x5004, buf, 4));
	CU_ASSERT_EQUAL(r.faults, 1);
	/* callback segments have no host bytes */
	CU_ASSERT_PTR_NULL(remora_reader_direct(&r, 0x5100, 4));
	CU_ASSERT_FALSE(remora_reader_host_range(&r, 0x5100, 4));
}

static void test_empty_reader(void)
{
	struct remora_reader r;
	uint8_t b;
	remora_reader_init(&r, NULL, 0);
	CU_ASSERT_PTR_NULL(remora_reader_find(&r, 0x1000));
	CU_ASSERT_FALSE(remora_reader_read(&r, 0x1000, &b, 1));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "sort rejects overlapping segments", test_sort_rejects_overlap },
		{ "find: boundaries and gaps", test_find },
		{ "read: inside and across adjacent segments", test_read_inside_and_across },
		{ "read: faults at gaps, ends, wild pointers", test_faults },
		{ "direct pointers and host ranges", test_direct_and_host_range },
		{ "callback segments", test_callback_segment },
		{ "empty reader", test_empty_reader },
		{ NULL, NULL },
	};
	return unit_run("reader", tests);
}
