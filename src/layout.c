/* layout.c — names and gdb specs of the layout descriptor's fields.
 * The meaning of each field and the spec grammar: layout.h.  The values
 * are resolved by gdb/remora/layout.py; this table is the one place that
 * says where each comes from, per CPython version (alternatives).
 */
#include "layout.h"

#include <stddef.h>

#define F(field, s) [field] = { .name = #field, .spec = s }

static const struct remora_layout_spec layout_specs[RL_FIELD_COUNT] = {
	F(RL_OB_REFCNT, "?off PyObject ob_refcnt"),
	F(RL_OB_TYPE, "off PyObject ob_type"),
	F(RL_OB_SIZE, "off PyVarObject ob_size"),
	F(RL_TP_NAME, "off PyTypeObject tp_name"),
	F(RL_TP_BASICSIZE, "off PyTypeObject tp_basicsize"),
	F(RL_TP_ITEMSIZE, "off PyTypeObject tp_itemsize"),
	F(RL_TP_FLAGS, "off PyTypeObject tp_flags"),
	F(RL_TP_TRAVERSE, "off PyTypeObject tp_traverse"),
	F(RL_TP_DEALLOC, "off PyTypeObject tp_dealloc"),
	F(RL_TP_IS_GC, "off PyTypeObject tp_is_gc"),
	F(RL_TP_DICT, "off PyTypeObject tp_dict"),
	F(RL_TP_BASE, "off PyTypeObject tp_base"),
	F(RL_TP_BASES, "off PyTypeObject tp_bases"),
	F(RL_TP_MRO, "off PyTypeObject tp_mro"),
	F(RL_TP_CACHE, "off PyTypeObject tp_cache"),
	F(RL_TP_SUBCLASSES, "off PyTypeObject tp_subclasses"),
	F(RL_TP_WEAKLIST, "off PyTypeObject tp_weaklist"),
	F(RL_TP_DICTOFFSET, "off PyTypeObject tp_dictoffset"),
	F(RL_TP_MEMBERS, "off PyTypeObject tp_members"),
	F(RL_TP_DOC, "off PyTypeObject tp_doc"),
	F(RL_HT_NAME, "off PyHeapTypeObject ht_name"),
	F(RL_HT_SLOTS, "off PyHeapTypeObject ht_slots"),
	F(RL_HT_QUALNAME, "off PyHeapTypeObject ht_qualname"),
	F(RL_HT_CACHED_KEYS, "off PyHeapTypeObject ht_cached_keys"),
	F(RL_HT_MODULE, "[3.9-] off PyHeapTypeObject ht_module"),
	F(RL_SIZEOF_TYPE, "size PyTypeObject"),
	F(RL_SIZEOF_HEAPTYPE, "size PyHeapTypeObject"),
	F(RL_MEMBER_NAME, "off PyMemberDef name"),
	F(RL_MEMBER_TYPE, "off PyMemberDef type"),
	F(RL_MEMBER_OFFSET, "off PyMemberDef offset"),
	F(RL_MEMBER_FLAGS, "off PyMemberDef flags"),
	F(RL_SIZEOF_MEMBER, "size PyMemberDef"),
	F(RL_DICT_USED, "off PyDictObject ma_used"),
	F(RL_DICT_KEYS, "off PyDictObject ma_keys"),
	F(RL_DICT_VALUES, "off PyDictObject ma_values"),
	F(RL_DK_REFCNT, "off PyDictKeysObject dk_refcnt"),
	F(RL_DK_LOG2_SIZE, "[3.11-] off PyDictKeysObject dk_log2_size"),
	F(RL_DK_LOG2_INDEX_BYTES, "[3.11-] off PyDictKeysObject dk_log2_index_bytes"),
	F(RL_DK_KIND, "[3.11-] off PyDictKeysObject dk_kind"),
	F(RL_DK_USABLE, "off PyDictKeysObject dk_usable"),
	F(RL_DK_NENTRIES, "off PyDictKeysObject dk_nentries"),
	F(RL_DK_INDICES, "off PyDictKeysObject dk_indices"),
	F(RL_SIZEOF_DICTKEYS, "size PyDictKeysObject"),
	F(RL_SIZEOF_DICTKEYENTRY, "size PyDictKeyEntry"),
	F(RL_SIZEOF_DICTUNICODEENTRY, "[3.11-] size PyDictUnicodeEntry"),
	F(RL_LIST_ITEMS, "off PyListObject ob_item"),
	F(RL_LIST_ALLOCATED, "off PyListObject allocated"),
	F(RL_TUPLE_ITEMS, "off PyTupleObject ob_item"),
	F(RL_SET_USED, "off PySetObject used"),
	F(RL_SET_MASK, "off PySetObject mask"),
	F(RL_SET_TABLE, "off PySetObject table"),
	F(RL_SET_SMALLTABLE, "off PySetObject smalltable"),
	F(RL_SET_DUMMY, "?addr _dummy_struct | ptr _PySet_Dummy"),
	F(RL_SIZEOF_SETENTRY, "size setentry"),
	F(RL_STR_LENGTH, "off PyASCIIObject length"),
	F(RL_STR_STATE, "off PyASCIIObject state"),
	F(RL_STR_WSTR, "?off PyASCIIObject wstr"),
	F(RL_STR_UTF8_LENGTH, "off PyCompactUnicodeObject utf8_length"),
	F(RL_STR_UTF8, "off PyCompactUnicodeObject utf8"),
	F(RL_STR_WSTR_LENGTH, "?off PyCompactUnicodeObject wstr_length"),
	F(RL_STR_DATA, "off PyUnicodeObject data"),
	F(RL_SIZEOF_ASCII, "size PyASCIIObject"),
	F(RL_SIZEOF_COMPACT, "size PyCompactUnicodeObject"),
	F(RL_SIZEOF_UNICODE, "size PyUnicodeObject"),
	F(RL_LONG_DIGITS, "off PyLongObject ob_digit | off PyLongObject long_value.ob_digit"),
	F(RL_LONG_TAG, "?off PyLongObject long_value.lv_tag"),
	F(RL_BYTES_SVAL, "off PyBytesObject ob_sval"),
	F(RL_BYTEARRAY_ALLOC, "off PyByteArrayObject ob_alloc"),
	F(RL_MODULE_DICT, "off PyModuleObject md_dict"),
	F(RL_MODULE_DEF, "?off PyModuleObject md_def"),
	F(RL_MODULEDEF_SIZE, "off PyModuleDef m_size"),
	F(RL_MODULEDEF_TRAVERSE, "off PyModuleDef m_traverse"),
	F(RL_MODULE_STATE, "off PyModuleObject md_state"),
	F(RL_FUNC_GLOBALS, "off PyFunctionObject func_globals"),
	F(RL_FUNC_BUILTINS, "[3.10-] off PyFunctionObject func_builtins"),
	F(RL_FUNC_NAME, "off PyFunctionObject func_name"),
	F(RL_FUNC_QUALNAME, "off PyFunctionObject func_qualname"),
	F(RL_FUNC_CODE, "off PyFunctionObject func_code"),
	F(RL_FUNC_DEFAULTS, "off PyFunctionObject func_defaults"),
	F(RL_FUNC_KWDEFAULTS, "off PyFunctionObject func_kwdefaults"),
	F(RL_FUNC_CLOSURE, "off PyFunctionObject func_closure"),
	F(RL_FUNC_DOC, "off PyFunctionObject func_doc"),
	F(RL_FUNC_DICT, "off PyFunctionObject func_dict"),
	F(RL_FUNC_MODULE, "off PyFunctionObject func_module"),
	F(RL_FUNC_ANNOTATIONS, "off PyFunctionObject func_annotations"),
	F(RL_CO_CONSTS, "off PyCodeObject co_consts"),
	F(RL_CO_NAMES, "off PyCodeObject co_names"),
	F(RL_CO_EXCEPTIONTABLE, "[3.11-] off PyCodeObject co_exceptiontable"),
	F(RL_CO_LOCALSPLUSNAMES, "[3.11-] off PyCodeObject co_localsplusnames"),
	F(RL_CO_LOCALSPLUSKINDS, "[3.11-] off PyCodeObject co_localspluskinds"),
	F(RL_CO_FILENAME, "off PyCodeObject co_filename"),
	F(RL_CO_NAME, "off PyCodeObject co_name"),
	F(RL_CO_QUALNAME, "[3.11-] off PyCodeObject co_qualname"),
	F(RL_CO_LINETABLE, "off PyCodeObject co_linetable | off PyCodeObject co_lnotab"),
	F(RL_CO_NLOCALSPLUS, "[3.11-] off PyCodeObject co_nlocalsplus"),
	F(RL_CO_STACKSIZE, "off PyCodeObject co_stacksize"),
	F(RL_CO_EXTRA, "off PyCodeObject co_extra"),
	F(RL_CO_CODE_CACHED, "?off PyCodeObject _co_cached"),
	F(RL_CO_CODE, "?off PyCodeObject _co_code"),
	F(RL_CODEEXTRA_SIZE, "off _PyCodeObjectExtra ce_size | const 0"),
	F(RL_CODEEXTRA_EXTRAS, "off _PyCodeObjectExtra ce_extras | const 8"),
	F(RL_CELL_REF, "off PyCellObject ob_ref"),
	F(RL_METHOD_FUNC, "off PyMethodObject im_func"),
	F(RL_METHOD_SELF, "off PyMethodObject im_self"),
	F(RL_IFRAME_CODE, "[3.11-] off _PyInterpreterFrame f_code | off _PyInterpreterFrame f_executable"),
	F(RL_IFRAME_FUNC, "[3.11-] off _PyInterpreterFrame f_func | off _PyInterpreterFrame f_funcobj"),
	F(RL_IFRAME_GLOBALS, "[3.11-] off _PyInterpreterFrame f_globals"),
	F(RL_IFRAME_BUILTINS, "[3.11-] off _PyInterpreterFrame f_builtins"),
	F(RL_IFRAME_LOCALS, "[3.11-] off _PyInterpreterFrame f_locals"),
	F(RL_IFRAME_FRAME_OBJ, "[3.11-] off _PyInterpreterFrame frame_obj"),
	F(RL_IFRAME_PREVIOUS, "[3.11-] off _PyInterpreterFrame previous"),
	F(RL_IFRAME_STACKTOP, "?off _PyInterpreterFrame stacktop"),
	F(RL_IFRAME_OWNER, "[3.11-] off _PyInterpreterFrame owner"),
	F(RL_IFRAME_LOCALSPLUS, "[3.11-] off _PyInterpreterFrame localsplus"),
	F(RL_RUNTIME_ADDR, "addr _PyRuntime"),
	F(RL_RUNTIME_INTERP_HEAD, "off _PyRuntimeState interpreters.head"),
	F(RL_INTERP_NEXT, "off PyInterpreterState next"),
	F(RL_INTERP_THREADS_HEAD, "[3.11-] off PyInterpreterState threads.head"),
	F(RL_INTERP_MODULES, "off PyInterpreterState modules | off PyInterpreterState imports.modules"),
	F(RL_INTERP_SYSDICT, "off PyInterpreterState sysdict"),
	F(RL_INTERP_BUILTINS, "off PyInterpreterState builtins"),
	F(RL_INTERP_IMPORTLIB, "off PyInterpreterState importlib | off PyInterpreterState imports.importlib"),
	F(RL_INTERP_DICT, "off PyInterpreterState dict"),
	F(RL_INTERP_BUILTINS_COPY, "?off PyInterpreterState builtins_copy"),
	F(RL_INTERP_IMPORT_FUNC, "?off PyInterpreterState import_func | off PyInterpreterState imports.import_func"),
	F(RL_INTERP_CODEC_SEARCH_PATH, "?off PyInterpreterState codec_search_path | off PyInterpreterState codecs.search_path"),
	F(RL_INTERP_CODEC_SEARCH_CACHE, "?off PyInterpreterState codec_search_cache | off PyInterpreterState codecs.search_cache"),
	F(RL_INTERP_CODEC_ERROR_REGISTRY, "?off PyInterpreterState codec_error_registry | off PyInterpreterState codecs.error_registry"),
	F(RL_INTERP_MODULES_BY_INDEX, "?off PyInterpreterState modules_by_index | off PyInterpreterState imports.modules_by_index"),
	F(RL_INTERP_GC_GENERATIONS, "[3.9-] off PyInterpreterState gc.generations | off PyInterpreterState gc.young"),
	F(RL_INTERP_GC_PERMANENT, "[3.9-] off PyInterpreterState gc.permanent_generation"),
	F(RL_SIZEOF_GC_GENERATION, "size struct gc_generation"),
	F(RL_SIZEOF_GC_HEAD, "size PyGC_Head"),
	F(RL_TSTATE_NEXT, "off PyThreadState next"),
	F(RL_TSTATE_CFRAME, "?off PyThreadState cframe"),
	F(RL_CFRAME_CURRENT, "?off _PyCFrame current_frame"),
	F(RL_TSTATE_CURRENT_FRAME, "?off PyThreadState current_frame"),
	F(RL_TSTATE_DICT, "off PyThreadState dict"),
	F(RL_TSTATE_CUREXC_TYPE, "?off PyThreadState curexc_type"),
	F(RL_TSTATE_CUREXC_VALUE, "?off PyThreadState curexc_value"),
	F(RL_TSTATE_CUREXC_TB, "?off PyThreadState curexc_traceback"),
	F(RL_TSTATE_CURRENT_EXC, "?off PyThreadState current_exception"),
	F(RL_TSTATE_EXC_INFO, "off PyThreadState exc_info"),
	F(RL_EXCITEM_VALUE, "off _PyErr_StackItem exc_value"),
	F(RL_EXCITEM_PREVIOUS, "off _PyErr_StackItem previous_item"),
	F(RL_TSTATE_CONTEXT, "off PyThreadState context"),
	F(RL_TSTATE_ASYNC_GEN_FIRSTITER, "off PyThreadState async_gen_firstiter"),
	F(RL_TSTATE_ASYNC_GEN_FINALIZER, "off PyThreadState async_gen_finalizer"),
	F(RL_TSTATE_PROFILEOBJ, "off PyThreadState c_profileobj"),
	F(RL_TSTATE_TRACEOBJ, "off PyThreadState c_traceobj"),
	F(RL_TSTATE_DELETE_LATER, "?off PyThreadState delete_later"),
	F(RL_TSTATE_NATIVE_ID, "[3.11-] off PyThreadState native_thread_id"),
	F(RL_TSTATE_THREAD_ID, "?off PyThreadState thread_id"),
	F(RL_TYPE_TYPE, "addr PyType_Type"),
	F(RL_TYPE_OBJECT, "addr PyBaseObject_Type"),
	F(RL_TYPE_DICT, "addr PyDict_Type"),
	F(RL_TYPE_LIST, "addr PyList_Type"),
	F(RL_TYPE_TUPLE, "addr PyTuple_Type"),
	F(RL_TYPE_STR, "addr PyUnicode_Type"),
	F(RL_TYPE_INT, "addr PyLong_Type"),
	F(RL_TYPE_BOOL, "addr PyBool_Type"),
	F(RL_TYPE_FLOAT, "addr PyFloat_Type"),
	F(RL_TYPE_SET, "addr PySet_Type"),
	F(RL_TYPE_FROZENSET, "addr PyFrozenSet_Type"),
	F(RL_TYPE_BYTES, "addr PyBytes_Type"),
	F(RL_TYPE_BYTEARRAY, "addr PyByteArray_Type"),
	F(RL_TYPE_MODULE, "addr PyModule_Type"),
	F(RL_TYPE_FUNCTION, "addr PyFunction_Type"),
	F(RL_TYPE_CODE, "addr PyCode_Type"),
	F(RL_TYPE_CELL, "addr PyCell_Type"),
	F(RL_TYPE_METHOD, "addr PyMethod_Type"),
	F(RL_TYPE_GEN, "?addr PyGen_Type"),
	F(RL_TYPE_CORO, "?addr PyCoro_Type"),
	F(RL_TYPE_ASYNCGEN, "?addr PyAsyncGen_Type"),
	F(RL_GEN_IFRAME, "?off PyGenObject gi_iframe"),
	F(RL_TYPE_FRAME, "?addr PyFrame_Type"),
	F(RL_FRAME_FRAME, "?off PyFrameObject f_frame"),
	F(RL_FRAME_DATA, "?off PyFrameObject _f_frame_data"),
	F(RL_DEQUE_TRAVERSE, "?addr deque_traverse@_collectionsmodule.c"),
	F(RL_DEQUE_LEFTINDEX, "?off dequeobject@_collectionsmodule.c leftindex"),
	F(RL_SIZEOF_DEQUE_BLOCK, "?size block@_collectionsmodule.c"),
	F(RL_TYPE_ODICT, "?addr PyODict_Type"),
	F(RL_ODICT_FIRST, "?off PyODictObject od_first"),
	F(RL_ODICT_FAST_NODES_SIZE, "?off PyODictObject od_fast_nodes_size"),
	F(RL_SIZEOF_ODICTNODE, "?size _ODictNode | size struct _odictnode"),
	F(RL_FRAME_BACK, "off PyFrameObject f_back"),
	F(RL_FRAME_TRACE, "off PyFrameObject f_trace"),
	F(RL_GEN_CODE, "?off PyGenObject gi_code"),
	F(RL_GEN_NAME, "off PyGenObject gi_name"),
	F(RL_GEN_QUALNAME, "off PyGenObject gi_qualname"),
	F(RL_GEN_EXC_VALUE, "off PyGenObject gi_exc_state.exc_value"),
	F(RL_GEN_FRAME_STATE, "[3.11-] off PyGenObject gi_frame_state"),
	F(RL_EXC_DICT, "off PyBaseExceptionObject dict"),
	F(RL_EXC_ARGS, "off PyBaseExceptionObject args"),
	F(RL_EXC_NOTES, "?off PyBaseExceptionObject notes"),
	F(RL_EXC_TRACEBACK, "off PyBaseExceptionObject traceback"),
	F(RL_EXC_CONTEXT, "off PyBaseExceptionObject context"),
	F(RL_EXC_CAUSE, "off PyBaseExceptionObject cause"),
	F(RL_TYPE_BASE_EXCEPTION, "addr _PyExc_BaseException | ptr PyExc_BaseException"),
	F(RL_TYPE_CFUNCTION, "addr PyCFunction_Type"),
	F(RL_TYPE_CMETHOD, "?addr PyCMethod_Type"),
	F(RL_CFUNC_SELF, "off PyCFunctionObject m_self"),
	F(RL_CFUNC_MODULE, "off PyCFunctionObject m_module"),
	F(RL_CMETHOD_CLASS, "?off PyCMethodObject mm_class"),
	F(RL_TYPE_TRACEBACK, "addr PyTraceBack_Type"),
	F(RL_TB_NEXT, "off PyTracebackObject tb_next"),
	F(RL_TB_FRAME, "off PyTracebackObject tb_frame"),
	F(RL_DEQUE_LEFTBLOCK, "?off dequeobject@_collectionsmodule.c leftblock"),
	F(RL_DEQUE_BLOCK_DATA, "?off block@_collectionsmodule.c data"),
	F(RL_DEQUE_BLOCK_RIGHTLINK, "?off block@_collectionsmodule.c rightlink"),
	F(RL_TYPE_PROPERTY, "addr PyProperty_Type"),
	F(RL_PROPERTY_NAME, "?off propertyobject prop_name"),
	/* exported up to 3.12; without debug info 3.13's is found through
	 * types.MethodWrapperType (gdb/remora/nodwarf.py) */
	F(RL_TYPE_METHODWRAPPER, "?addr _PyMethodWrapper_Type"),
	F(RL_METHODWRAPPER_DESCR, "off wrapperobject descr"),
	F(RL_METHODWRAPPER_SELF, "off wrapperobject self"),
	F(RL_SUBTYPE_DEALLOC, "addr subtype_dealloc"),
	F(RL_STRUCTSEQ_TRAVERSE, "?addr structseq_traverse"),
	/* unused (dict sizes never needed it); kept so that no field moves */
	F(RL_EMPTY_KEYS, "?const -1"),
	F(RL_RUNTIME_FINALIZING, "?off _PyRuntimeState _finalizing"),
	F(RL_DICTVALUES_VALUES, "[3.11-] off struct _dictvalues values"),
	F(RL_DICTVALUES_CAPACITY, "?off struct _dictvalues capacity"),
	F(RL_DICTVALUES_VALID, "?off struct _dictvalues valid"),
	F(RL_DICTVALUES_EMBEDDED, "?off struct _dictvalues embedded"),
	F(RL_IFRAME_STACKPOINTER, "?off _PyInterpreterFrame stackpointer"),
	F(RL_MODULE_STATE_SIZE, "?off PyModuleObject md_state_size"),
	F(RL_MODULE_STATE_TRAVERSE, "?off PyModuleObject md_state_traverse"),
	F(RL_TYPE_FROZENDICT, "?addr PyFrozenDict_Type"),
	F(RL_BYTEARRAY_BYTES_OBJECT, "?off PyByteArrayObject ob_bytes_object"),
	F(RL_RUNTIME_DEBUG_OFFSETS, "?off _PyRuntimeState debug_offsets"),
	F(RL_DBG_VERSION, "?off _Py_DebugOffsets version"),
	F(RL_DBG_RUNTIME_FINALIZING, "?off _Py_DebugOffsets runtime_state.finalizing"),
	F(RL_DBG_RUNTIME_INTERP_HEAD, "?off _Py_DebugOffsets runtime_state.interpreters_head"),
	F(RL_DBG_INTERP_NEXT, "?off _Py_DebugOffsets interpreter_state.next"),
	F(RL_DBG_INTERP_THREADS_HEAD, "?off _Py_DebugOffsets interpreter_state.threads_head"),
	F(RL_DBG_INTERP_MODULES, "?off _Py_DebugOffsets interpreter_state.imports_modules"),
	F(RL_DBG_INTERP_SYSDICT, "?off _Py_DebugOffsets interpreter_state.sysdict"),
	F(RL_DBG_INTERP_BUILTINS, "?off _Py_DebugOffsets interpreter_state.builtins"),
	F(RL_DBG_TSTATE_NEXT, "?off _Py_DebugOffsets thread_state.next"),
	F(RL_DBG_TSTATE_CURRENT_FRAME, "?off _Py_DebugOffsets thread_state.current_frame"),
	F(RL_DBG_IFRAME_PREVIOUS, "?off _Py_DebugOffsets interpreter_frame.previous"),
	F(RL_DBG_IFRAME_CODE, "?off _Py_DebugOffsets interpreter_frame.executable"),
	F(RL_DBG_IFRAME_LOCALSPLUS, "?off _Py_DebugOffsets interpreter_frame.localsplus"),
	F(RL_DBG_IFRAME_OWNER, "?off _Py_DebugOffsets interpreter_frame.owner"),
	F(RL_DBG_OB_TYPE, "?off _Py_DebugOffsets pyobject.ob_type"),
	F(RL_DBG_TP_NAME, "?off _Py_DebugOffsets type_object.tp_name"),
	F(RL_DBG_TP_FLAGS, "?off _Py_DebugOffsets type_object.tp_flags"),
	F(RL_DBG_TUPLE_ITEMS, "?off _Py_DebugOffsets tuple_object.ob_item"),
	F(RL_DBG_LIST_ITEMS, "?off _Py_DebugOffsets list_object.ob_item"),
	F(RL_DBG_DICT_KEYS, "?off _Py_DebugOffsets dict_object.ma_keys"),
	F(RL_DBG_DICT_VALUES, "?off _Py_DebugOffsets dict_object.ma_values"),
	F(RL_DK_SIZE, "[-3.10] off PyDictKeysObject dk_size"),
	F(RL_TSTATE_FRAME, "[-3.10] off PyThreadState frame"),
	F(RL_INTERP_TSTATE_HEAD, "[-3.10] off PyInterpreterState tstate_head"),
	F(RL_RUNTIME_GC_GENERATIONS, "[-3.8] off _PyRuntimeState gc.generations"),
	F(RL_RUNTIME_GC_PERMANENT, "[-3.8] off _PyRuntimeState gc.permanent_generation"),
	F(RL_FRAME_CODE, "[-3.10] off PyFrameObject f_code"),
	F(RL_FRAME_BUILTINS, "[-3.10] off PyFrameObject f_builtins"),
	F(RL_FRAME_GLOBALS, "[-3.10] off PyFrameObject f_globals"),
	F(RL_FRAME_LOCALS, "[-3.10] off PyFrameObject f_locals"),
	F(RL_FRAME_VALUESTACK, "[-3.10] off PyFrameObject f_valuestack"),
	F(RL_FRAME_STACKTOP, "[-3.9] off PyFrameObject f_stacktop"),
	F(RL_FRAME_STACKDEPTH, "[3.10-3.10] off PyFrameObject f_stackdepth"),
	F(RL_FRAME_GEN, "[-3.10] off PyFrameObject f_gen"),
	F(RL_FRAME_LOCALSPLUS, "[-3.10] off PyFrameObject f_localsplus"),
	F(RL_SIZEOF_FRAME, "[-3.10] size PyFrameObject"),
	F(RL_GEN_FRAME, "[-3.10] off PyGenObject gi_frame"),
	F(RL_CO_NLOCALS, "[-3.10] off PyCodeObject co_nlocals"),
	F(RL_CO_CELLVARS, "[-3.10] off PyCodeObject co_cellvars"),
	F(RL_CO_FREEVARS, "[-3.10] off PyCodeObject co_freevars"),
	F(RL_CO_VARNAMES, "[-3.10] off PyCodeObject co_varnames"),
	F(RL_CO_CELL2ARG, "[-3.10] off PyCodeObject co_cell2arg"),
	F(RL_CO_ZOMBIEFRAME, "[-3.10] off PyCodeObject co_zombieframe"),
	F(RL_CO_CODE_BYTES, "[-3.10] off PyCodeObject co_code"),
	F(RL_EXCITEM_TYPE, "[-3.10] off _PyErr_StackItem exc_type"),
	F(RL_EXCITEM_TRACEBACK, "[-3.10] off _PyErr_StackItem exc_traceback"),
	F(RL_CO_OPCACHE, "[-3.10] off PyCodeObject co_opcache"),
	F(RL_CO_OPCACHE_SIZE, "[-3.10] off PyCodeObject co_opcache_size"),
	F(RL_SIZEOF_OPCACHE, "[-3.10] size _PyOpcache"),
	F(RL_OB_REF_LOCAL, "[3.13-] ?off PyObject ob_ref_local"),
	F(RL_OB_REF_SHARED, "[3.13-] ?off PyObject ob_ref_shared"),
	F(RL_OB_GC_BITS, "[3.13-] ?off PyObject ob_gc_bits"),
	F(RL_RUNTIME_MEM_DEBUG, "[3.13-] ?off _PyRuntimeState allocators.is_debug_enabled"),
	F(RL_TSTATE_MI_HEAPS, "[3.13-] ?off _PyThreadStateImpl mimalloc.heaps"),
	F(RL_TSTATE_MI_INITIALIZED, "[3.13-] ?off _PyThreadStateImpl mimalloc.initialized"),
	F(RL_SIZEOF_MI_HEAP, "[3.13-] ?size mi_heap_t"),
	F(RL_MI_HEAP_PAGES, "[3.13-] ?off mi_heap_t pages"),
	F(RL_MI_HEAP_DELAYED_FREE, "[3.13-] ?off mi_heap_t thread_delayed_free"),
	F(RL_MI_HEAP_PAGE_COUNT, "[3.13-] ?off mi_heap_t page_count"),
	F(RL_SIZEOF_MI_PAGE_QUEUE, "[3.13-] ?size mi_page_queue_t"),
	F(RL_SIZEOF_MI_PAGE, "[3.13-] ?size mi_page_t"),
	F(RL_MI_PAGE_SLICE_COUNT, "[3.13-] ?off mi_page_t slice_count"),
	F(RL_MI_PAGE_TAG_BIT, "[3.13-] ?bit mi_page_t tag | bit mi_page_t heap_tag"),
	F(RL_MI_PAGE_CAPACITY, "[3.13-] ?off mi_page_t capacity"),
	F(RL_MI_PAGE_USED, "[3.13-] ?off mi_page_t used"),
	F(RL_MI_PAGE_BLOCK_SIZE, "[3.13-] ?off mi_page_t xblock_size | off mi_page_t block_size"),
	F(RL_MI_PAGE_FREE, "[3.13-] ?off mi_page_t free"),
	F(RL_MI_PAGE_LOCAL_FREE, "[3.13-] ?off mi_page_t local_free"),
	F(RL_MI_PAGE_XTHREAD_FREE, "[3.13-] ?off mi_page_t xthread_free"),
	F(RL_MI_PAGE_NEXT, "[3.13-] ?off mi_page_t next"),
	F(RL_MI_SEGMENT_ABANDONED_NEXT, "[3.13-] ?off mi_segment_t abandoned_next"),
	F(RL_MI_SEGMENT_SLICE_ENTRIES, "[3.13-] ?off mi_segment_t slice_entries"),
	F(RL_MI_SEGMENT_SLICES, "[3.13-] ?off mi_segment_t slices"),
	F(RL_INTERP_MI_POOL, "[3.13-] ?off PyInterpreterState mimalloc.abandoned_pool"),
	F(RL_MI_POOL_ABANDONED, "[3.13-] ?off mi_abandoned_pool_t abandoned"),
	F(RL_MI_POOL_VISITED, "[3.13-] ?off mi_abandoned_pool_t abandoned_visited"),
	/* 3.14's mimalloc (2.5): a page knows its blocks' start; exited
	 * threads' segments are the interpreter's sub-process's, flagged in
	 * the arenas' bitmaps (mi_arena_t is private to arena.c: its fields
	 * as mimalloc 2.5.2 lays them out, checked against the DWARF of
	 * Debian's 3.14.10) or, outside arenas, on the sub-process's list */
	F(RL_MI_PAGE_START, "[3.14-] ?off mi_page_t page_start"),
	F(RL_INTERP_MI_SUBPROC, "[3.14-] ?off PyInterpreterState mimalloc.subproc"),
	F(RL_TSTATE_MI_SUBPROC, "[3.14-] ?off _PyThreadStateImpl mimalloc.tld.segments.subproc"),
	F(RL_MI_SUBPROC_ABANDONED_COUNT, "[3.14-] ?off mi_subproc_t abandoned_count"),
	F(RL_MI_SUBPROC_OS_COUNT, "[3.14-] ?off mi_subproc_t abandoned_os_list_count"),
	F(RL_MI_SUBPROC_OS_LIST, "[3.14-] ?off mi_subproc_t abandoned_os_list"),
	F(RL_MI_SEGMENT_OS_NEXT, "[3.14-] ?off mi_segment_t abandoned_os_next"),
	F(RL_MI_SEGMENT_SUBPROC, "[3.14-] ?off mi_segment_t subproc"),
	/* (3.15's libpython has a mi_arena_count its DWARF calls optimized
	 * out: its mimalloc is not read) */
	F(RL_MI_ARENAS, "[3.14-3.14] ?addr mi_arenas"),
	F(RL_MI_ARENA_COUNT, "[3.14-3.14] ?addr mi_arena_count"),
	F(RL_MI_ARENA_START, "[3.14-] ?off mi_arena_t start | const 32"),
	F(RL_MI_ARENA_FIELD_COUNT, "[3.14-] ?off mi_arena_t field_count | const 48"),
	F(RL_MI_ARENA_ABANDONED, "[3.14-] ?off mi_arena_t blocks_abandoned | const 176"),
};

#undef F

const struct remora_layout_spec *remora_layout_spec_get(unsigned int field)
{
	if (field >= RL_FIELD_COUNT)
		return NULL;
	return &layout_specs[field];
}

/* "3.11" at *p as 0x030B, moving *p past it; 0 if no version is there. */
static unsigned int layout_parse_minor(const char **p)
{
	unsigned int major = 0, minor = 0;
	const char *s = *p;
	if (*s < '0' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9')
		major = major * 10 + (unsigned int)(*s++ - '0');
	if (*s++ != '.')
		return 0;
	while (*s >= '0' && *s <= '9')
		minor = minor * 10 + (unsigned int)(*s++ - '0');
	*p = s;
	return (major << 8) | (minor & 0xFF);
}

bool remora_layout_spec_required(const char *spec, uint32_t python_version)
{
	if (spec[0] == '[') {
		const char *p = spec + 1;
		unsigned int v = python_version >> 16;
		unsigned int lo = layout_parse_minor(&p);
		if (*p++ != '-')
			return true;            /* malformed: say it is needed */
		unsigned int hi = layout_parse_minor(&p);
		if (*p++ != ']')
			return true;
		if ((lo && v < lo) || (hi && v > hi))
			return false;
		while (*p == ' ')
			p++;
		spec = p;
	}
	return spec[0] != '?';
}

int remora_layout_check(const struct remora_layout *layout)
{
	for (unsigned int i = 0; i < RL_FIELD_COUNT; i++) {
		if (layout->v[i] == REMORA_LAYOUT_ABSENT &&
		    remora_layout_spec_required(layout_specs[i].spec, layout->python_version))
			return (int)i;
	}
	return -1;
}
