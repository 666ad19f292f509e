#!/bin/sh
# check-imports.sh — DESIGN.md invariant 2, checked on the binary: the agent
# that runs inside a live target imports nothing (no allocator, no stdio,
# no lock, no Python C-API, not even libc's system-call wrappers), and its
# only relocations are relative ones, which gdb applies when it maps it.
set -eu
agent="${1:-.libs/remora-agent.so}"
if [ ! -f "$agent" ]; then
	echo "check-imports: $agent not built" >&2
	exit 1
fi
allowed='^$'   # nothing at all: gdb maps the agent without the dynamic loader
bad=$(nm -D --undefined-only "$agent" | awk '{print $NF}' | sed 's/@.*//' | grep -Ev "$allowed" || true)
if [ -n "$bad" ]; then
	echo "check-imports: the agent imports functions it must not call inside a target:" >&2
	echo "$bad" >&2
	exit 1
fi
relocs=$(readelf -rW "$agent" | awk '/^[0-9a-f]+ +[0-9a-f]+ +R_/ {print $3}' | sort -u)
if [ -n "$relocs" ] && [ "$relocs" != "R_X86_64_RELATIVE" ]; then
	echo "check-imports: the agent needs relocations other than R_X86_64_RELATIVE:" >&2
	echo "$relocs" >&2
	exit 1
fi
echo "check-imports: no imports; relocations: ${relocs:-none}"
