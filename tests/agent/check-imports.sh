#!/bin/sh
# check-imports.sh — DESIGN.md invariant 2, checked on the binary: the agent
# that runs inside a live target may import only system-call wrappers and
# memory primitives.  Any allocator, stdio, lock or Python C-API import
# fails this test.
set -eu
agent="${1:-.libs/remora-agent.so}"
if [ ! -f "$agent" ]; then
	echo "check-imports: $agent not built" >&2
	exit 1
fi
allowed='^(open|open64|read|write|pwrite|pwrite64|close|mmap|mmap64|munmap|mremap|memcpy|memmove|memset|memcmp|memchr|strlen|__errno_location|__cxa_finalize|_ITM_deregisterTMCloneTable|_ITM_registerTMCloneTable|__gmon_start__)$'
bad=$(nm -D --undefined-only "$agent" | awk '{print $NF}' | sed 's/@.*//' | grep -Ev "$allowed" || true)
if [ -n "$bad" ]; then
	echo "check-imports: the agent imports functions it must not call inside a target:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "check-imports: $(nm -D --undefined-only "$agent" | wc -l) imports, all allowed"
