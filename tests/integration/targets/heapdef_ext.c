/* heapdef_ext.c — the module heapdefmod, built by test_heapdef.py against
 * each interpreter's headers: an extension type that describes itself to
 * heapy (and remora) through heapy's NyHeapDef interface.
 *
 * heapdefmod.Blob(n, left, right) owns an n-byte malloc'd buffer, which
 * sys.getsizeof does not see (Blob has no __sizeof__), and holds left and
 * right in C fields that no tp_traverse or member table shows (Blob is
 * not a GC type).  The module's _NyHeapDefs_ capsule gives:
 *   size      the basic size plus the buffer;
 *   traverse  left and right;
 *   relate    left as the attribute "left" (NYHR_ATTRIBUTE), right as the
 *             C member "right" (NYHR_INTERATTR).
 * The relators are str objects the module keeps (its RELATORS tuple):
 * relate allocates nothing and passes each with a new reference, as
 * heapy's contract says, which the caller gives back.
 *
 * The NyHeapDef declarations are heapy's interface (guppy's heapdef.h),
 * restated here as the README documents them. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	int flags;
	PyObject *hv;
	PyObject *obj;
	void *arg;
	visitproc visit;
	PyObject *_hiding_tag_;
} NyHeapTraverse;

typedef struct NyHeapRelate {
	int flags;
	PyObject *hv;
	PyObject *src;
	PyObject *tgt;
	int (*visit)(unsigned int relatype, PyObject *relator, struct NyHeapRelate *r);
} NyHeapRelate;

#define NYHR_ATTRIBUTE 1
#define NYHR_INTERATTR 4

typedef struct {
	int flags;
	PyTypeObject *type;
	size_t (*size)(PyObject *obj);
	int (*traverse)(NyHeapTraverse *ta);
	int (*relate)(NyHeapRelate *r);
	void *resv3, *resv4, *resv5;
} NyHeapDef;

typedef struct {
	PyObject_HEAD
	char *buf;
	Py_ssize_t len;
	PyObject *left;
	PyObject *right;
} Blob;

static PyObject *name_left, *name_right;

static PyObject *blob_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
	Py_ssize_t n;
	PyObject *left, *right;
	if (!PyArg_ParseTuple(args, "nOO", &n, &left, &right))
		return NULL;
	if (n < 0) {
		PyErr_SetString(PyExc_ValueError, "negative size");
		return NULL;
	}
	Blob *b = (Blob *)type->tp_alloc(type, 0);
	if (!b)
		return NULL;
	b->buf = malloc(n ? (size_t)n : 1);
	if (!b->buf) {
		Py_DECREF(b);
		return PyErr_NoMemory();
	}
	memset(b->buf, 'x', (size_t)n);
	b->len = n;
	Py_INCREF(left);
	b->left = left;
	Py_INCREF(right);
	b->right = right;
	return (PyObject *)b;
}

static void blob_dealloc(Blob *b)
{
	free(b->buf);
	Py_XDECREF(b->left);
	Py_XDECREF(b->right);
	Py_TYPE(b)->tp_free((PyObject *)b);
}

static PyObject *blob_buffer_len(Blob *b, PyObject *unused)
{
	(void)unused;
	return PyLong_FromSsize_t(b->len);
}

static PyObject *blob_held(Blob *b, PyObject *unused)
{
	(void)unused;
	return PyTuple_Pack(2, b->left, b->right);
}

static PyMethodDef blob_methods[] = {
	{ "buffer_len", (PyCFunction)blob_buffer_len, METH_NOARGS, "the buffer's length" },
	{ "held", (PyCFunction)blob_held, METH_NOARGS, "(left, right)" },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject BlobType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "heapdefmod.Blob",
	.tp_basicsize = sizeof(Blob),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_new = blob_new,
	.tp_dealloc = (destructor)blob_dealloc,
	.tp_methods = blob_methods,
};

static size_t blob_size(PyObject *obj)
{
	return (size_t)Py_TYPE(obj)->tp_basicsize + (size_t)((Blob *)obj)->len;
}

static int blob_traverse(NyHeapTraverse *ta)
{
	Blob *b = (Blob *)ta->obj;
	int r = b->left ? ta->visit(b->left, ta->arg) : 0;
	if (!r && b->right)
		r = ta->visit(b->right, ta->arg);
	return r;
}

static int blob_relate(NyHeapRelate *r)
{
	Blob *b = (Blob *)r->src;
	if (b->left == r->tgt) {
		Py_INCREF(name_left);
		if (r->visit(NYHR_ATTRIBUTE, name_left, r))
			return 1;
	}
	if (b->right == r->tgt) {
		Py_INCREF(name_right);
		if (r->visit(NYHR_INTERATTR, name_right, r))
			return 1;
	}
	return 0;
}

static NyHeapDef heapdefs[] = {
	{ 0, &BlobType, blob_size, blob_traverse, blob_relate, NULL, NULL, NULL },
	{ 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

static struct PyModuleDef moduledef = {
	PyModuleDef_HEAD_INIT, "heapdefmod", "a NyHeapDef test module", -1, NULL,
	NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_heapdefmod(void)
{
	if (PyType_Ready(&BlobType) < 0)
		return NULL;
	PyObject *m = PyModule_Create(&moduledef);
	if (!m)
		return NULL;
	name_left = PyUnicode_FromString("left");
	name_right = PyUnicode_FromString("right");
	PyObject *relators = name_left && name_right ?
		PyTuple_Pack(2, name_left, name_right) : NULL;
	PyObject *capsule = PyCapsule_New(heapdefs, "heapdefmod._NyHeapDefs_", NULL);
	Py_INCREF(&BlobType);
	if (!relators || !capsule ||
	    PyModule_AddObject(m, "Blob", (PyObject *)&BlobType) < 0 ||
	    PyModule_AddObject(m, "RELATORS", relators) < 0 ||
	    PyModule_AddObject(m, "_NyHeapDefs_", capsule) < 0) {
		Py_XDECREF(relators);
		Py_XDECREF(capsule);
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
