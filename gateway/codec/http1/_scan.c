/* The control-character count of a head we write, in C (the Python version is in common.py, which uses this one
 * when the compiled hot path is built: scripts/build_native.py). bytes.translate, the fastest way in Python, copies
 * the head and costs about three thousand instructions per head; this loop about a tenth of that. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Every C0 control but TAB, and DEL: the bytes no head may hold outside its CRLF line ends. */
static unsigned char is_control[256];

static PyObject *controls(PyObject *module, PyObject *data) {
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "controls() takes bytes");
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data), count = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        count += is_control[p[i]];
    return PyLong_FromSsize_t(count);
}

static PyMethodDef methods[] = {
    {"controls", controls, METH_O, "controls(data) -> how many control characters (C0 but TAB, and DEL) it holds"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gateway.codec.http1._scan",
    .m_doc = "Byte scans of the HTTP/1.1 codecs in C (the Python versions are in common.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__scan(void) {
    for (int c = 0; c < 0x20; c++)
        is_control[c] = c != '\t';
    is_control[0x7f] = 1;
    return PyModule_Create(&module_def);
}
