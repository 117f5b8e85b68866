# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled hot loop: a block of raw lines in, NDJSON out, byte-identical to the Python path.

It sits behind the record seam (see docs/architecture.md) and imports nothing from esalog: the glue
(:mod:`esalog.pipeline`) hands it the compiled packs and a fallback that runs the Python path for one
line. Native: line checks (UTF-8, NUL), the file-form header with a per-stream stamp cache, routing,
the dispatch key, the rule plans (static JSON fragments and capture slots), the common converters and
the NDJSON encoding. Python ``re`` (called from here) matches the bodies, so the pack dialect keeps its
exact semantics. A line the core cannot read the way the Python path would (another header form,
problems, an unmatched line, a rule with post-processors, a converter that fails) goes to the fallback.

With session tracking, the same reading makes the flat records the stages read instead (``records_block``:
parser.Record's slots set in place, or ``LineParser.matched`` for rules with post-processors), and
``encode_records`` writes the NDJSON of the records they enriched as ``encode.to_event`` nests them.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memchr, memcmp, memcpy

import re

import orjson


cdef extern from "_pcre2.h":
    ctypedef struct pcre2_code:
        pass
    ctypedef struct pcre2_match_data:
        pass
    ctypedef size_t PCRE2_SIZE
    ctypedef const unsigned char* PCRE2_SPTR
    int ESALOG_PCRE2
    unsigned int PCRE2_ANCHORED
    unsigned int PCRE2_JIT_COMPLETE
    int PCRE2_ERROR_NOMATCH
    PCRE2_SIZE PCRE2_UNSET
    pcre2_code* pcre2_compile(PCRE2_SPTR pattern, PCRE2_SIZE length, unsigned int options, int* errorcode,
                              PCRE2_SIZE* erroroffset, void* context)
    int pcre2_jit_compile(pcre2_code* code, unsigned int options)
    void pcre2_code_free(pcre2_code* code)
    pcre2_match_data* pcre2_match_data_create(unsigned int ovecsize, void* context)
    void pcre2_match_data_free(pcre2_match_data* data)
    PCRE2_SIZE* pcre2_get_ovector_pointer(pcre2_match_data* data)
    int pcre2_jit_match(const pcre2_code* code, PCRE2_SPTR subject, PCRE2_SIZE length, PCRE2_SIZE start,
                        unsigned int options, pcre2_match_data* data, void* context) nogil

#: Whether this build has PCRE2 (its JIT reads the rules it is proven equal to Python re on).
HAVE_PCRE2 = bool(ESALOG_PCRE2)
#: Pattern syntax PCRE2 may read otherwise than Python re (or that this check does not vouch for):
#: such rules always match with Python re.
_PCRE2_UNSAFE = re.compile(r"\\[vNhRKGXCQEpPgkoxuUZ0-9]|\{,|\[:|\(\?[^:=!<>P]|[^\x00-\x7f]")


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    object PyObject_CallOneArg(object func, object arg)
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member


# ------------------------------------------------------------------------------------- output buffer

cdef struct Buf:
    char* data
    Py_ssize_t len
    Py_ssize_t cap


cdef bytes _dumps(value):
    """``orjson.dumps`` as a bytes object of its own size (orjson's keep a 4 KB buffer each: these are kept)."""
    cdef bytes made = orjson.dumps(value)
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(made), PyBytes_GET_SIZE(made))


cdef int buf_grow(Buf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap = b.cap * 2
    cdef char* data
    if cap < b.len + extra:
        cap = b.len + extra + 4096
    data = <char*>realloc(b.data, cap)
    if data == NULL:
        raise MemoryError()
    b.data = data
    b.cap = cap
    return 0


cdef inline int buf_put(Buf* b, const char* src, Py_ssize_t n) except -1:
    if b.len + n > b.cap:
        buf_grow(b, n)
    memcpy(b.data + b.len, src, n)
    b.len += n
    return 0


cdef inline int buf_byte(Buf* b, char c) except -1:
    if b.len + 1 > b.cap:
        buf_grow(b, 1)
    b.data[b.len] = c
    b.len += 1
    return 0


cdef inline int buf_put_self(Buf* b, Py_ssize_t start, Py_ssize_t n) except -1:
    """Append a copy of the buffer's own bytes at *start* (reserved first: the source must not move)."""
    if b.len + n > b.cap:
        buf_grow(b, n)
    memcpy(b.data + b.len, b.data + start, n)
    b.len += n
    return 0


cdef inline int buf_bytes(Buf* b, bytes data) except -1:
    return buf_put(b, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef const char* HEX = b"0123456789abcdef"
# 0: copied; 1: \uXXXX; other: the letter after the backslash (orjson's escapes)
cdef unsigned char ESCAPE[256]


cdef void _init_escapes():
    cdef int i
    for i in range(256):
        ESCAPE[i] = 1 if i < 0x20 else 0
    ESCAPE[ord('"')] = ord('"')
    ESCAPE[ord('\\')] = ord('\\')
    ESCAPE[ord('\b')] = ord('b')
    ESCAPE[ord('\t')] = ord('t')
    ESCAPE[ord('\n')] = ord('n')
    ESCAPE[ord('\f')] = ord('f')
    ESCAPE[ord('\r')] = ord('r')


_init_escapes()


cdef inline bint _word_needs_escape(unsigned long long w):
    """Whether one of 8 bytes may be a control character, a quote or a backslash (no false negatives)."""
    cdef unsigned long long ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL
    cdef unsigned long long q = w ^ 0x2222222222222222ULL, b = w ^ 0x5c5c5c5c5c5c5c5cULL
    return (((w - 0x2020202020202020ULL) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs != 0


cdef bint needs_escape(const char* s, Py_ssize_t n):
    """Whether JSON needs any escape in the UTF-8 text *s* (else it goes out as it is, in quotes)."""
    cdef Py_ssize_t i = 0
    cdef unsigned long long w
    while i + 8 <= n:
        memcpy(&w, s + i, 8)
        if _word_needs_escape(w):
            break
        i += 8
    while i < n:
        if ESCAPE[<unsigned char>s[i]]:
            return True
        i += 1
    return False


cdef int buf_json_str(Buf* b, const char* s, Py_ssize_t n) except -1:
    """``"..."`` of UTF-8 text *s*, escaped as orjson escapes it (eight bytes at a time where none needs it)."""
    cdef Py_ssize_t i = 0, start = 0
    cdef unsigned char c, e
    cdef unsigned long long w
    if b.len + n + 2 > b.cap:
        buf_grow(b, n + 2)
    b.data[b.len] = b'"'
    b.len += 1
    while i < n:
        if i + 8 <= n:
            memcpy(&w, s + i, 8)
            if not _word_needs_escape(w):
                i += 8
                continue
        c = <unsigned char>s[i]
        e = ESCAPE[c]
        if e == 0:
            i += 1
            continue
        if i > start:
            buf_put(b, s + start, i - start)
        if e == 1:
            buf_put(b, b"\\u00", 4)
            buf_byte(b, HEX[c >> 4])
            buf_byte(b, HEX[c & 15])
        else:
            buf_byte(b, b'\\')
            buf_byte(b, <char>e)
        i += 1
        start = i
    if n > start:
        buf_put(b, s + start, n - start)
    buf_byte(b, b'"')
    return 0


cdef int buf_int(Buf* b, long long v) except -1:
    cdef char tmp[24]
    cdef int n = 0
    cdef unsigned long long u
    if v < 0:
        buf_byte(b, b'-')
        u = <unsigned long long>(-(v + 1)) + 1
    else:
        u = <unsigned long long>v
    while True:
        tmp[n] = <char>(48 + u % 10)
        n += 1
        u //= 10
        if u == 0:
            break
    if b.len + n > b.cap:
        buf_grow(b, n)
    while n:
        n -= 1
        b.data[b.len] = tmp[n]
        b.len += 1
    return 0


cdef bint is_py_space(unsigned char c):
    """ASCII characters ``str.isspace`` (and ``str.strip``) treat as white space."""
    return c == 32 or (9 <= c <= 13) or (28 <= c <= 31)


# ----------------------------------------------------------------------------- values of one line

DEF MAX_NODES = 256
DEF MAX_VALUES = 128

cdef struct Node:
    int key  # interned key id (-1: root)
    int first  # first child (objects)
    int last
    int next  # next sibling
    # 0 leaf (JSON text at val), 1 object, 2 leaf (text that needs no escaping: written in quotes), 3 leaf
    # (JSON text at offset voff of the scratch buffer, which may move while the tree is made)
    int kind
    const char* val  # leaf: JSON text
    Py_ssize_t voff
    Py_ssize_t vlen


cdef struct Tree:
    Node nodes[MAX_NODES]
    int count


cdef inline void tree_init(Tree* t):
    t.count = 1
    t.nodes[0].key = -1
    t.nodes[0].first = -1
    t.nodes[0].last = -1
    t.nodes[0].next = -1
    t.nodes[0].kind = 1


cdef int tree_child(Tree* t, int parent, int key, bint make_object) except -2:
    """The child *key* of *parent* (-1 when absent and not *make_object*; a new object otherwise).

    Returns -3 when the node table is full (the line goes to the Python path).
    """
    cdef int i = t.nodes[parent].first
    cdef Node* n
    while i >= 0:
        if t.nodes[i].key == key:
            return i
        i = t.nodes[i].next
    if not make_object:
        return -1
    if t.count >= MAX_NODES:
        return -3
    i = t.count
    t.count += 1
    n = &t.nodes[i]
    n.key = key
    n.first = -1
    n.last = -1
    n.next = -1
    n.kind = 1
    n.val = NULL
    n.vlen = 0
    if t.nodes[parent].last >= 0:
        t.nodes[t.nodes[parent].last].next = i
    else:
        t.nodes[parent].first = i
    t.nodes[parent].last = i
    return i


cdef int tree_set(Tree* t, int parent, int key, const char* val, Py_ssize_t vlen, int kind=0) except -2:
    """Set leaf *key* of object *parent* (replaced in place when present, else appended)."""
    cdef int i = tree_child(t, parent, key, True)
    if i < 0:
        return i
    t.nodes[i].kind = kind
    t.nodes[i].first = -1
    t.nodes[i].last = -1
    t.nodes[i].val = val
    t.nodes[i].vlen = vlen
    return i


cdef int tree_object(Tree* t, int parent, int key) except -2:
    """The object *key* of *parent*, made when absent; -3 when a leaf is there (or the table is full)."""
    cdef int i = tree_child(t, parent, key, True)
    if i >= 0 and t.nodes[i].kind != 1:
        return -3
    return i


cdef int tree_write(Tree* t, int node, Buf* out, const char** keys, Py_ssize_t* key_lens,
                    const char* scratch) except -1:
    cdef int i = t.nodes[node].first
    cdef bint first = True
    buf_byte(out, b'{')
    while i >= 0:
        if not first:
            buf_byte(out, b',')
        first = False
        buf_put(out, keys[t.nodes[i].key], key_lens[t.nodes[i].key])
        if t.nodes[i].kind == 0:
            buf_put(out, t.nodes[i].val, t.nodes[i].vlen)
        elif t.nodes[i].kind == 3:
            buf_put(out, scratch + t.nodes[i].voff, t.nodes[i].vlen)
        elif t.nodes[i].kind == 2:
            if out.len + t.nodes[i].vlen + 2 > out.cap:
                buf_grow(out, t.nodes[i].vlen + 2)
            out.data[out.len] = b'"'
            memcpy(out.data + out.len + 1, t.nodes[i].val, t.nodes[i].vlen)
            out.len += t.nodes[i].vlen + 2
            out.data[out.len - 1] = b'"'
        else:
            tree_write(t, i, out, keys, key_lens, scratch)
        i = t.nodes[i].next
    buf_byte(out, b'}')
    return 0


# ----------------------------------------------------------------------------- compiled rules

# native converters (others are called back in Python, their value rendered with orjson)
DEF C_STR = 0
DEF C_INT = 1
DEF C_FLOAT = 2
DEF C_ADDRESS_LIST = 3
DEF C_RID_LIST = 4
DEF C_YESNO = 5
DEF C_LOWER = 6
DEF C_UNQUOTE = 7
DEF C_SUBJECT = 8
DEF C_LIST = 9
DEF C_PYTHON = 10

DEF MAX_DEPTH = 8

#: one store of a rule's plan: a static value or a capture slot, at a path of interned keys
cdef struct Op:
    int depth
    int path[MAX_DEPTH]
    int leaf
    int slot  # -1: static
    const char* static_val
    Py_ssize_t static_len


#: the value a line's slot takes: JSON text at (start, length) in the line's scratch buffer, or (raw) text
#: in the line itself that needs no escaping; start -1: no value
cdef struct Slot:
    Py_ssize_t start
    Py_ssize_t length
    const char* raw


cdef class Keys:
    """Interned object keys: id -> ``"key":`` fragment."""

    cdef dict ids
    cdef list fragments
    cdef const char** ptrs
    cdef Py_ssize_t* lens
    cdef int cap

    def __cinit__(self):
        self.ids = {}
        self.fragments = []
        self.cap = 0
        self.ptrs = NULL
        self.lens = NULL

    def __dealloc__(self):
        free(self.ptrs)
        free(self.lens)

    cdef int id(self, str name) except -1:
        cdef object found = self.ids.get(name)
        cdef bytes frag
        cdef int n
        if found is not None:
            return found
        frag = orjson.dumps(name) + b":"
        n = len(self.fragments)
        if n >= self.cap:
            self.cap = max(64, self.cap * 2)
            self.ptrs = <const char**>realloc(self.ptrs, self.cap * sizeof(char*))
            self.lens = <Py_ssize_t*>realloc(self.lens, self.cap * sizeof(Py_ssize_t))
            if self.ptrs == NULL or self.lens == NULL:
                raise MemoryError()
        self.fragments.append(frag)
        self.ptrs[n] = PyBytes_AS_STRING(frag)
        self.lens[n] = PyBytes_GET_SIZE(frag)
        self.ids[name] = n
        return n


#: Top-level names a rule may not write on the native path (the skeleton holds shared or fixed values).
_RESERVED_ROOTS = frozenset({"@timestamp", "message", "observer", "log", "tags"})
#: Fields the encoder or the derivations write besides the rule's own.
_SKELETON = ("event.kind", "event.module", "event.dataset", "event.original", "cisco.esa.kind",
             "email.local_id", "related.ip")


cdef class CRule:
    """One rule for the hot loop (``native`` False: lines it matches take the Python path)."""

    cdef public object rule
    cdef public bint native
    cdef public str why
    cdef object fullmatch
    cdef public bint plain  # matched with Python re (a user rule's time-budgeted pattern: the Python path matches)
    cdef bint header_line  # updates how the input's later lines are read: records_block leaves it to the Python path
    # records_block makes the record itself (no post-processor, ids in one slot each, no derived related.ip):
    # the value slots of the MID, ICID and DCID (-1 none)
    cdef bint plain_record
    cdef int id_mid, id_icid, id_dcid
    cdef pcre2_code* code  # PCRE2 JIT code once proven equal to the rule's re (pcre_state 1)
    cdef public int pcre_state  # 0 not tried yet, 1 PCRE2 in use, -1 Python re only
    cdef int nslots
    cdef int* slot_groups  # per slot: group index
    cdef int* slot_convs  # per slot: native converter code
    cdef list slot_pyconvs  # per slot: the Python converter (C_PYTHON, and the slow paths of the others)
    cdef bytes kind_json
    cdef Op* ops  # what build() stores, in its order
    cdef int nops
    cdef bint ops_ready  # ops hold the whole build() (not when fields nest deeper than MAX_DEPTH)
    cdef list statics  # the JSON of the static values (ops point into them)
    cdef bint direction  # post-processor direction_from_table (natively)
    cdef int table_slot
    cdef bytes table_static
    cdef int mid_slot  # slot of cisco.esa.mid (an int converter) or -1
    cdef int src_slot
    cdef int dst_slot
    cdef bytes src_static
    cdef bytes dst_static

    def __cinit__(self):
        self.slot_groups = self.slot_convs = NULL
        self.ops = NULL
        self.code = NULL
        self.pcre_state = 0 if ESALOG_PCRE2 else -1

    def __dealloc__(self):
        free(self.slot_groups)
        free(self.slot_convs)
        free(self.ops)
        if self.code != NULL:
            pcre2_code_free(self.code)

    def __init__(self, rule, Keys keys, bint stateless):
        cdef int i
        self.rule = rule
        self.fullmatch = rule.regex.fullmatch
        self.plain = isinstance(rule.regex, re.Pattern)
        self.header_line = rule.updates_stream
        self.id_mid, self.id_icid, self.id_dcid = rule.id_slots
        self.plain_record = not rule.post and min(rule.id_slots) >= -1 and not rule.derives_ips \
            and (self.id_mid >= 0 or not rule.derives_mid)
        self.why = self._check(rule, stateless)
        self.native = not self.why
        self.slot_pyconvs = [conv for _, conv in rule.converters]
        self.nslots = len(self.slot_pyconvs)
        self.slot_groups = <int*>malloc((self.nslots + 1) * sizeof(int))
        self.slot_convs = <int*>malloc((self.nslots + 1) * sizeof(int))
        for i in range(self.nslots):
            self.slot_groups[i] = rule.converters[i][0]
            self.slot_convs[i] = _conv_code(self.slot_pyconvs[i])
        self.kind_json = _dumps(rule.id)
        self.mid_slot = self.src_slot = self.dst_slot = self.table_slot = -1
        self.src_static = self.dst_static = self.table_static = None
        self.direction = bool(rule.post)
        self.statics = []
        self.nops = 0
        self.ops_ready = False
        try:
            ops = [(("event",), leaf, _dumps(value), -1) for leaf, value in rule.event_static.items()]
            for parents, statics, captures in rule.plan:
                ops += [(parents, leaf, _dumps(value), -1) for leaf, value in statics]
                ops += [(parents, leaf, None, slot) for slot, leaf in captures]
        except TypeError:  # a static value orjson refuses (an integer over 64 bits): the Python path says so
            self.native, self.why = False, "static value not JSON"
            return
        self.ops = <Op*>malloc((len(ops) + 1) * sizeof(Op))
        for i, (parents, leaf, static, slot) in enumerate(ops):
            if len(parents) > MAX_DEPTH:
                self.native, self.why = False, "fields nested too deep"
                return
            self.ops[i].depth = len(parents)
            for d, name in enumerate(parents):
                self.ops[i].path[d] = keys.id(name)
            self.ops[i].leaf = keys.id(leaf)
            self.ops[i].slot = slot
            if static is not None:
                self.statics.append(static)
                self.ops[i].static_val = PyBytes_AS_STRING(static)
                self.ops[i].static_len = PyBytes_GET_SIZE(static)
        self.nops = len(ops)
        self.ops_ready = True
        if not self.native:
            return
        if "cisco.esa.mid" in rule.slots:
            self.mid_slot = rule.slots["cisco.esa.mid"][0]
        if self.direction:
            self.table_slot, self.table_static = _single(rule, "cisco.esa.policy_table")
        if rule.derives_ips:
            self.src_slot, self.src_static = _single(rule, "source.ip")
            self.dst_slot, self.dst_static = _single(rule, "destination.ip")

    @staticmethod
    def _check(rule, bint stateless):
        """Why lines of *rule* take the Python path ('' when they need not)."""
        if rule.source.kv is not None or any(_NATIVE_POST.get(id(func)) is not func for func in rule.post):
            return "post-processors"
        if rule.post and len(rule.slots.get("cisco.esa.policy_table", ())) > 1:
            return "policy table read by alternatives"
        if rule.updates_stream:
            return "header line"
        if stateless and rule.action in (None, "message-aborted"):
            return "abort classification"
        if len(rule.converters) > MAX_VALUES:
            return "too many captures"
        names = set(rule.fields) | set(_SKELETON) | ({"email.direction"} if rule.post else set())
        for name in rule.fields:
            if name.split(".", 1)[0] in _RESERVED_ROOTS:
                return "writes a reserved object"
            if any(other.startswith(name + ".") for other in names):
                return "a field and fields under it"
        if rule.derives_mid and "cisco.esa.mid" in rule.fields:
            slots = rule.slots.get("cisco.esa.mid", ())
            if len(slots) != 1 or _conv_code(rule.converters[slots[0]][1]) != C_INT:
                return "message id not read by one int capture"
        if rule.derives_ips:
            for name in ("source.ip", "destination.ip"):
                if len(rule.slots.get(name, ())) > 1:
                    return "addresses read by alternatives"
                slot = rule.slots.get(name, (None,))[0]
                if slot is not None and rule.converters[slot][1] is not None:
                    return "converted addresses"
                if not isinstance(rule.statics.get(name, ""), str):
                    return "non-text static address"
        return ""


cdef tuple _single(rule, str name):
    slots = rule.slots.get(name)
    static = rule.statics.get(name)
    return (slots[0] if slots else -1), (None if static is None else _dumps(static))


_NATIVE_CONVERTERS = {}
_NATIVE_POST = {}


def register_converters(mapping, postprocessors):
    """Which Python converters and post-processors the core implements natively (name -> function)."""
    _NATIVE_POST.clear()
    if "direction_from_table" in postprocessors:
        func = postprocessors["direction_from_table"]
        _NATIVE_POST[id(func)] = func
    codes = {"int": C_INT, "float": C_FLOAT, "address_list": C_ADDRESS_LIST, "rid_list": C_RID_LIST,
             "yesno": C_YESNO, "lower": C_LOWER, "unquote": C_UNQUOTE, "subject": C_SUBJECT, "list": C_LIST}
    _NATIVE_CONVERTERS.clear()
    for name, code in codes.items():
        if name in mapping:
            _NATIVE_CONVERTERS[id(mapping[name])] = (mapping[name], code)


cdef int _conv_code(conv):
    if conv is None:
        return C_STR
    found = _NATIVE_CONVERTERS.get(id(conv))
    if found is not None and found[0] is conv:
        return found[1]
    return C_PYTHON


DEF CACHE_SLOTS = 1024
DEF CACHE_KEY = 48

#: one entry of a pack's direct-mapped dispatch cache: a key of up to CACHE_KEY bytes and its candidates
cdef struct CacheEntry:
    unsigned long long hash
    int length
    char key[CACHE_KEY]
    PyObject* candidates  # a tuple of CRule (owned reference), NULL when empty


cdef inline unsigned long long fnv(unsigned long long h, const char* s, Py_ssize_t n):
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ <unsigned char>s[i]) * 1099511628211ULL
    return h


cdef class Core


cdef class CPack:
    """A compiled pack's rules and its dispatch cache (dispatch key -> candidate rules, as the pack says).

    Like the pack it reads, it is made ready when a line first needs it (``load``), and a rule's CRule is made
    when dispatch first hands it a line (``Core.crule``): start-up pays for no pack no line needs.
    """

    cdef object pack
    cdef Core core
    cdef bytes dataset_json
    cdef str dataset
    cdef CacheEntry* cache

    def __cinit__(self):
        self.cache = NULL  # made on first use: most packs never see a line

    def __dealloc__(self):
        cdef int i
        if self.cache != NULL:
            for i in range(CACHE_SLOTS):
                Py_XDECREF(self.cache[i].candidates)
            free(self.cache)

    def __init__(self, pack, Core core):
        self.pack = pack
        self.core = core
        self.dataset_json = None

    cdef int load(self) except -1:
        """Read what the hot path needs of the pack (the pack reads its file the first time)."""
        self.dataset = self.pack.dataset
        self.dataset_json = _dumps(self.dataset)
        return 0

    cdef object candidates(self, const char* a, Py_ssize_t alen, const char* b, Py_ssize_t blen,
                           const char* body, Py_ssize_t body_len):
        """The candidate rules of the dispatch key ``a + b`` (the pack's ``candidates`` of *body* on a miss)."""
        cdef unsigned long long h = fnv(fnv(14695981039346656037ULL, a, alen), b, blen)
        cdef CacheEntry* e
        if self.cache == NULL:
            self.cache = <CacheEntry*>calloc(CACHE_SLOTS, sizeof(CacheEntry))
            if self.cache == NULL:
                raise MemoryError()
        e = &self.cache[h & (CACHE_SLOTS - 1)]
        cdef Py_ssize_t n = alen + blen
        if e.candidates != NULL and e.hash == h and e.length == n and memcmp(e.key, a, alen) == 0 \
                and memcmp(e.key + alen, b, blen) == 0:
            return <object>e.candidates
        text = PyUnicode_DecodeUTF8(body, body_len, NULL)
        found = tuple([self.core.crule(rule) for rule in self.pack.candidates(text)])
        if n <= CACHE_KEY:
            Py_XDECREF(e.candidates)
            Py_INCREF(found)
            e.candidates = <PyObject*>found
            e.hash = h
            e.length = <int>n
            memcpy(e.key, a, alen)
            memcpy(e.key + alen, b, blen)
        return found


# --------------------------------------------------------------------------------------- streams

cdef class CStream:
    """Per-input state of the core: the Python stream (clock, observers) and the last stamp read."""

    cdef public object stream
    cdef object header
    cdef object log_type
    cdef char last_key[32]
    cdef int last_key_len
    cdef bytes last_iso  # the last stamp as JSON text
    cdef object last_iso_str
    cdef object last_offset  # header.utc_offset when the stamp was cached
    cdef object observer  # the observer dict the cached JSON is of
    cdef bytes observer_json
    # the Python path read a line since: the clock, the observer and the log type may have changed
    cdef bint dirty
    cdef bint early  # the input's header lines are being read: the Python path stamps them (Stream.early)
    cdef dict observers_json  # hostname -> (observer dict, its JSON)
    cdef dict syslogs_json  # (priority, hostname, appname) -> JSON of log.syslog
    cdef dict app_types  # subscription name -> log type (or None)
    # the headers (text before the body) the header parser cached, with their facts, most recent first: the
    # parser keeps one, lines of several appliances interleave
    cdef list prefixes
    cdef object prefix_offset  # header.utc_offset when they were read
    cdef str last_iso_text  # the last stamp the header parser gave, and its JSON
    cdef bytes last_iso_text_json

    def __init__(self, stream):
        self.stream = stream
        self.header = stream.header
        self.last_key_len = -1
        self.last_iso = None
        self.observer = None
        self.observer_json = None
        self.dirty = True
        self.observers_json = {}
        self.syslogs_json = {}
        self.app_types = {}
        self.last_iso_text = None
        self.prefixes = []
        self.prefix_offset = None

    cdef void keep_prefix(self, bytes prefix, tuple facts):
        self.prefixes.insert(0, (prefix, facts))
        if len(self.prefixes) > 16:
            self.prefixes.pop()

    cdef bytes iso_json(self, str iso):
        """The JSON text of a stamp the header parser gave (the last one cached)."""
        if iso != self.last_iso_text:
            self.last_iso_text = iso
            self.last_iso_text_json = _dumps(iso)
        return self.last_iso_text_json

    cdef bytes observer_json_of(self, hostname):
        """The JSON text of the observer of *hostname* (the stream's shared object; replaced, never mutated)."""
        obs = self.stream.observers.get(hostname)
        if obs is None:
            obs = self.stream.observer(hostname)
        found = self.observers_json.get(hostname)
        if found is None or found[0] is not obs:
            if len(self.observers_json) >= 256:
                self.observers_json.clear()
            found = self.observers_json[hostname] = (obs, _dumps(obs))
        return found[1]

    cdef bytes syslog_json(self, priority, hostname, appname):
        """The JSON text of ``log.syslog`` (Stream.syslog)."""
        key = (priority, hostname, appname)
        found = self.syslogs_json.get(key)
        if found is None:
            if len(self.syslogs_json) >= 256:
                self.syslogs_json.clear()
            found = self.syslogs_json[key] = _dumps(self.stream.syslog(priority, hostname, appname))
        return found

    cdef object app_log_type(self, str appname, route):
        """The log type a subscription name says (parser.log_type_for), cached."""
        if appname in self.app_types:
            return self.app_types[appname]
        if len(self.app_types) >= 256:
            self.app_types.clear()
        found = self.app_types[appname] = route(appname)
        return found

    cdef void refresh(self):
        self.dirty = False
        self.early = self.stream.early is not None
        self.log_type = self.stream.log_type
        obs = self.stream.observers.get(None)
        if obs is None:
            obs = self.stream.observer(None)
        if obs is not self.observer:
            self.observer = obs
            self.observer_json = _dumps(obs)
        offset = self.header.utc_offset
        if offset is not self.last_offset:
            self.last_key_len = -1
        if offset is not self.prefix_offset:  # the clock changed: the headers read before say other times
            self.prefixes.clear()
            self.prefix_offset = offset


# --------------------------------------------------------------------------------------------- core

# the index of each Record slot in RECORD_SLOTS (and Core.slot_offsets)
DEF R_TIMESTAMP = 0
DEF R_MESSAGE = 1
DEF R_DATASET = 2
DEF R_OBSERVER = 3
DEF R_APPLIANCE = 4
DEF R_KIND = 5
DEF R_ORIGINAL = 6
DEF R_CREATED = 7
DEF R_LEVEL = 8
DEF R_SYSLOG = 9
DEF R_TAGS = 10
DEF R_RULE = 11
DEF R_VALUES = 12
DEF R_EXTRA = 13
DEF R_EXTRA_ROOTS = 14
DEF R_DOCUMENT = 15
DEF R_ENCODED = 16
DEF R_MID = 17
DEF R_ICID = 18
DEF R_DCID = 19

# the most bytes encode_line keeps allocated from one line to the next
DEF LINE_OUT_KEPT = 1 << 20

cdef const char* MONTHS = b"JanFebMarAprMayJunJulAugSepOctNovDec"
cdef const char* DAYS = b"MonTueWedThuFriSatSun"
cdef bytes L_CRITICAL = b'"critical"', L_WARNING = b'"warning"', L_INFO = b'"info"', L_DEBUG = b'"debug"'
cdef bytes L_TRACE = b'"trace"'
cdef dict _LEVEL_JSON = {"critical": L_CRITICAL, "warning": L_WARNING, "info": L_INFO, "debug": L_DEBUG,
                         "trace": L_TRACE}
cdef dict _LEVEL_TEXT = {json: text for text, json in _LEVEL_JSON.items()}


cdef inline bint _word3(const char* words, const char* s):
    cdef const char* w = words
    while w[0]:
        if w[0] == s[0] and w[1] == s[1] and w[2] == s[2]:
            return True
        w += 3
    return False


cdef bytes _level(const char* s, Py_ssize_t n):
    """The JSON of a level word (header.LEVELS), None for another word."""
    if n == 4 and memcmp(s, b"Info", 4) == 0:
        return L_INFO
    if n == 7 and memcmp(s, b"Warning", 7) == 0:
        return L_WARNING
    if n == 5 and memcmp(s, b"Debug", 5) == 0:
        return L_DEBUG
    if n == 8 and memcmp(s, b"Critical", 8) == 0:
        return L_CRITICAL
    if n == 5 and memcmp(s, b"Trace", 5) == 0:
        return L_TRACE
    return None


cdef inline bint is_digit(char c):
    return 48 <= c <= 57


cdef class Core:
    """The native reader of one pipeline's packs (see the module docstring)."""

    cdef Keys keys
    cdef dict packs  # log type -> CPack
    cdef CPack mail
    cdef object forced
    cdef bint keep_original
    cdef frozenset other_types
    cdef object match_groups
    cdef int k_ts, k_message, k_event, k_kind, k_module, k_dataset, k_original, k_observer, k_log, k_level
    cdef int k_cisco, k_esa, k_email, k_local_id, k_related, k_ip, k_direction, k_syslog, k_created
    cdef Buf scratch  # one line's rendered values; the document's leaves point into it
    cdef Buf line_out  # encode_line's output, kept from one call to the next (no allocation per line)
    cdef str h_dataset  # the dataset of the event last written
    # the header of the line being read, as JSON text (syslog None: none; appname: the subscription name)
    cdef bytes h_iso, h_level, h_syslog, h_observer
    cdef object h_appname, h_iso_text, h_observer_obj  # the stamp and the observer as Python objects
    cdef tuple h_facts  # the header parser's facts of a line not in the file form (None for the file form)
    cdef object finish  # records_block: parser.LineParser.matched
    cdef object unmatched  # records_block: parser.LineParser.unmatched (None: the Python path reads such lines)
    cdef object made  # the record _record made last
    cdef object record_type  # parser.Record, when its slots are the ones RECORD_SLOTS names (else None)
    cdef Py_ssize_t slot_offsets[20]  # where each of RECORD_SLOTS sits in a Record
    cdef dict places  # encode_records: dotted field name -> the key ids of its parents and its own
    cdef dict shared_json  # encode_records: id of an observer or log.syslog object -> (it, its JSON)
    cdef int k_tags
    cdef object route  # parser.log_type_for
    cdef object examples  # rule -> the bodies of its examples (to prove PCRE2 equal to re on them)
    cdef pcre2_match_data* match_data
    cdef PCRE2_SIZE* ovector
    cdef public list rules  # every CRule made so far, for tests and reports
    cdef dict by_rule  # id of a compiled rule -> its CRule
    cdef bint stateless
    cdef unsigned int match_pairs  # the offset pairs match_data has room for

    def __cinit__(self):
        self.scratch.data = NULL
        self.scratch.len = 0
        self.scratch.cap = 0
        self.line_out.data = NULL
        self.line_out.len = 0
        self.line_out.cap = 0
        self.match_data = NULL

    def __dealloc__(self):
        free(self.scratch.data)
        free(self.line_out.data)
        if self.match_data != NULL:
            pcre2_match_data_free(self.match_data)

    def __init__(self, dict packs, *, bint keep_original, forced_log_type, bint stateless, other_log_types,
                 match_type, examples, route, record_type=None):
        self.keys = Keys()
        self.record_type = record_type if record_type is not None and self._layout(record_type) else None
        self.rules = []
        self.by_rule = {}
        self.stateless = stateless
        self.match_pairs = 0
        self.keep_original = keep_original
        self.forced = forced_log_type
        self.other_types = frozenset(other_log_types)
        self.match_groups = match_type.groups
        self.packs = {log_type: CPack(pack, self) for log_type, pack in packs.items()}
        self.mail = self.packs.get("mail_logs")
        self.examples = examples
        self.route = route
        k = self.keys
        self.k_ts, self.k_message, self.k_event = k.id("@timestamp"), k.id("message"), k.id("event")
        self.k_kind, self.k_module, self.k_dataset = k.id("kind"), k.id("module"), k.id("dataset")
        self.k_original, self.k_observer, self.k_log = k.id("original"), k.id("observer"), k.id("log")
        self.k_level, self.k_cisco, self.k_esa = k.id("level"), k.id("cisco"), k.id("esa")
        self.k_email, self.k_local_id = k.id("email"), k.id("local_id")
        self.k_related, self.k_ip, self.k_direction = k.id("related"), k.id("ip"), k.id("direction")
        self.k_syslog = k.id("syslog")
        self.k_created = k.id("created")
        self.k_tags = k.id("tags")
        self.places = {}
        self.shared_json = {}

    cdef CRule crule(self, rule):
        """The CRule of a compiled rule, made the first time dispatch hands the rule a line."""
        cdef CRule made = self.by_rule.get(id(rule))  # (the packs hold their rules: ids stay theirs)
        cdef pcre2_match_data* grown
        if made is not None:
            return made
        made = CRule(rule, self.keys, self.stateless)
        if ESALOG_PCRE2 and made.plain and rule.regex.groups + 1 > self.match_pairs:
            grown = pcre2_match_data_create(rule.regex.groups + 1, NULL)  # room for this rule's groups
            if grown == NULL:
                raise MemoryError()
            if self.match_data != NULL:
                pcre2_match_data_free(self.match_data)
            self.match_data = grown
            self.match_pairs = rule.regex.groups + 1
            self.ovector = pcre2_get_ovector_pointer(self.match_data)
        self.by_rule[id(rule)] = made
        self.rules.append(made)
        return made

    def stream(self, stream):
        """The core's state for a Python :class:`~esalog.parsers.parser.Stream`."""
        return CStream(stream)

    def encode_block(self, CStream cs, list raws, cut, fallback, list facts=None):
        """NDJSON of the lines *raws* (bytes without newline) of one stream, in order.

        *cut*: indices of lines cut at the length limit. ``fallback(index)`` returns the NDJSON of line
        *index* made by the Python path (its record and the records stages add). Returns the NDJSON and
        how many lines were read natively. *facts*, when given, receives per line ``(end of its NDJSON,
        stamp, observer, dataset)``, the last three None for a line of the Python path.
        """
        cdef Buf out
        cdef Py_ssize_t i, n = len(raws)
        cdef int native = 0
        cdef bytes raw
        out.data = NULL
        out.len = 0
        out.cap = 0
        try:
            for i in range(n):
                raw = raws[i]
                if (cut and i in cut) or not self._line(cs, raw, &out):
                    cs.dirty = True
                    buf_bytes(&out, fallback(i))
                    if facts is not None:
                        facts.append((out.len, None, None, None))
                else:
                    native += 1
                    if facts is not None:
                        facts.append((out.len, self.h_iso_text, self.h_observer_obj, self.h_dataset))
            return PyBytes_FromStringAndSize(out.data, out.len), native
        finally:
            free(out.data)

    def encode_line(self, CStream cs, bytes raw):
        """NDJSON of one line, or None when it takes the Python path."""
        cdef Buf* out = &self.line_out
        out.len = 0
        try:
            if self._line(cs, raw, out):
                return PyBytes_FromStringAndSize(out.data, out.len)
            cs.dirty = True  # the caller reads it on the Python path
            return None
        finally:
            if out.cap > LINE_OUT_KEPT:  # a huge line's buffer is not kept
                free(out.data)
                out.data = NULL
                out.cap = 0

    def records_block(self, CStream cs, list raws, cut, fallback, finish, unmatched=None):
        """The records of the lines *raws* (bytes without newline) of one stream, in order, for the stages.

        *cut*: indices of lines cut at the length limit. ``fallback(index)`` returns the record the Python
        parser makes of line *index*; ``finish(stream, line, body, dataset, stamp, level, priority, hostname,
        appname, rule, values)`` makes the record of a line read here (``LineParser.matched``), and
        ``unmatched(stream, line, body, pack, stamp, level, priority, hostname, appname)`` that of a line
        none of whose routed pack's rules match (``LineParser.unmatched``; None: the Python parser's). Returns
        the records and how many lines were read here.
        """
        cdef Py_ssize_t i, n = len(raws)
        cdef int native = 0
        cdef bytes raw
        cdef list out = []
        self.finish = finish
        self.unmatched = unmatched
        for i in range(n):
            raw = raws[i]
            if (cut and i in cut) or not self._line(cs, raw, NULL):
                cs.dirty = True
                out.append(fallback(i))
            else:
                native += 1
                out.append(self.made)
        self.made = None
        self.unmatched = None
        return out, native

    cdef bint _layout(self, record_type) except -1:
        """Where the slots of *record_type* sit (False: not the slots RECORD_SLOTS names)."""
        if set(getattr(record_type, "__slots__", ())) != set(RECORD_SLOTS):
            return False
        for i, name in enumerate(RECORD_SLOTS):
            descr = record_type.__dict__.get(name)
            if type(descr).__name__ != "member_descriptor":
                return False
            self.slot_offsets[i] = (<PyMemberDescrObject*>descr).d_member.offset
        return True

    cdef object _plain_record(self, CStream cs, CPack cpack, CRule crule, list values, const char* s,
                              Py_ssize_t n, str body, level, priority, hostname, appname):
        """The record ``LineParser.matched`` makes of a line whose rule has no post-processor, its ids in one
        value slot each and no derived ``related.ip``: made here, every slot set as ``Record.__init__`` and
        ``LineParser._finish`` set them (the MID's ``email.local_id`` derived as ``parser._derive`` does)."""
        stream = cs.stream
        observer = stream.observers.get(hostname)
        if observer is None:
            observer = stream.observer(hostname)
        appliance = stream.appliances.get(hostname)
        if appliance is None:
            appliance = stream.appliance(hostname)
        syslog = stream.syslog(priority, hostname, appname) if priority is not None or appname or hostname else None
        record = object.__new__(self.record_type)
        mid = _int_slot(values, crule.id_mid)
        extra = extra_roots = None
        if mid is not None and crule.rule.derives_mid:
            extra = {"email.local_id": str(mid)}
            extra_roots = {"email": False}
        for i, value in enumerate((
                self.h_iso_text, body, cpack.dataset, observer, appliance, "event",
                PyUnicode_DecodeUTF8(s, n, NULL) if self.keep_original else None, None, level, syslog, None,
                crule.rule, values, extra, extra_roots, None, None, mid, _int_slot(values, crule.id_icid),
                _int_slot(values, crule.id_dcid))):
            _put_slot(record, self.slot_offsets[i], value)
        return record

    def encode_records(self, list records, fallback):
        """NDJSON of *records*, byte for byte what ``encode.encode_line`` gives (``fallback(record)``, which
        writes those this does not: whole documents, header lines, values orjson alone decides on)."""
        cdef Buf out
        out.data = NULL
        out.len = 0
        out.cap = 0
        try:
            for record in records:
                if not self._encode_record(record, &out):
                    buf_bytes(&out, fallback(record))
            return PyBytes_FromStringAndSize(out.data, out.len)
        finally:
            free(out.data)
            if self.scratch.cap > LINE_OUT_KEPT:
                free(self.scratch.data)
                self.scratch.data = NULL
                self.scratch.cap = 0

    cdef bint _encode_record(self, record, Buf* out) except -1:
        """Append the event of a flat *record* to *out* as ``encode.to_event`` nests it (skeleton, the rule's
        build, then the fields set after the match, merged in order); False (nothing written) when the Python
        encoder must write it."""
        cdef Tree tree
        cdef Buf* sc = &self.scratch
        cdef CRule crule = None
        cdef Op* op
        cdef int node, parent, k, i
        cdef tuple place
        cdef Py_ssize_t depth
        if type(record) is not self.record_type or not self._all_set(record):
            return False  # (a Record whose slots are read in place below, each set)
        if self._field(record, R_DOCUMENT) is not None or self._field(record, R_ENCODED) is not None:
            return False
        rule = self._field(record, R_RULE)
        if rule is not None:
            crule = self.crule(rule)
            if crule.header_line or not crule.ops_ready:
                return False  # (a header line's observer is copied and written into)
        sc.len = 0
        tree_init(&tree)
        if self._leaf(&tree, 0, self.k_ts, self._field(record, R_TIMESTAMP)) < 0 \
                or self._leaf(&tree, 0, self.k_message, self._field(record, R_MESSAGE)) < 0:
            return False
        node = tree_child(&tree, 0, self.k_event, True)
        if self._leaf(&tree, node, self.k_kind, self._field(record, R_KIND)) < 0:
            return False
        tree_set(&tree, node, self.k_module, b'"cisco_esa"', 11)
        if self._leaf(&tree, node, self.k_dataset, self._field(record, R_DATASET)) < 0:
            return False
        value = self._field(record, R_ORIGINAL)
        if value is not None and self._leaf(&tree, node, self.k_original, value) < 0:
            return False
        value = self._field(record, R_CREATED)
        if value is not None and self._leaf(&tree, node, self.k_created, value) < 0:
            return False
        observer = self._shared_json(self._field(record, R_OBSERVER))  # (held: the leaves point into it)
        if observer is None:
            return False
        tree_set(&tree, 0, self.k_observer, PyBytes_AS_STRING(observer), PyBytes_GET_SIZE(observer))
        level = self._field(record, R_LEVEL)
        syslog = self._field(record, R_SYSLOG)
        if syslog is not None:
            syslog = self._shared_json(syslog)
            if syslog is None:
                return False
        if level is not None or syslog is not None:
            node = tree_child(&tree, 0, self.k_log, True)
            if level is not None and self._leaf(&tree, node, self.k_level, level) < 0:
                return False
            if syslog is not None:
                tree_set(&tree, node, self.k_syslog, PyBytes_AS_STRING(syslog), PyBytes_GET_SIZE(syslog))
        value = self._field(record, R_TAGS)
        if value and self._leaf(&tree, 0, self.k_tags, value) < 0:
            return False
        if crule is not None:
            node = tree_child(&tree, tree_child(&tree, 0, self.k_cisco, True), self.k_esa, True)
            tree_set(&tree, node, self.k_kind, PyBytes_AS_STRING(crule.kind_json), PyBytes_GET_SIZE(crule.kind_json))
            values = self._field(record, R_VALUES) or ()
            for i in range(crule.nops):  # CompiledRule.build
                op = &crule.ops[i]
                if op.slot >= 0:
                    value = values[op.slot]
                    if value is None:
                        continue
                parent = 0
                for k in range(op.depth):
                    parent = tree_object(&tree, parent, op.path[k])
                    if parent < 0:
                        return False
                if op.slot < 0:
                    node = tree_set(&tree, parent, op.leaf, op.static_val, op.static_len)
                else:
                    node = self._leaf(&tree, parent, op.leaf, value)
                if node < 0:
                    return False
        extra = self._field(record, R_EXTRA)
        if extra:
            for name, value in extra.items():  # encode.merge_fields
                place = self.places.get(name)
                if place is None:
                    place = self._place(name)
                depth = len(place) - 1
                parent = 0
                for k in range(depth):
                    parent = tree_object(&tree, parent, <int>place[k])
                    if parent < 0:
                        return False
                if self._leaf(&tree, parent, <int>place[depth], value) < 0:
                    return False
        tree_write(&tree, 0, out, <const char**>self.keys.ptrs, self.keys.lens, sc.data)
        buf_byte(out, b'\n')
        return True

    cdef inline object _field(self, record, int index):
        """Slot *index* of RECORD_SLOTS of *record* (a record_type whose slots are all set), read in place."""
        return _get_slot(record, self.slot_offsets[index])

    cdef bint _all_set(self, record):
        """Whether every slot of *record* (a record_type) holds a value (a deleted attribute: the Python
        encoder raises as it would)."""
        cdef int i
        for i in range(20):
            if (<PyObject**>(<char*><PyObject*>record + self.slot_offsets[i]))[0] == NULL:
                return False
        return True

    cdef tuple _place(self, str name):
        """The key ids of the parents of dotted field *name* and of its own (``fields.split_path``)."""
        place = tuple([self.keys.id(part) for part in name.split(".")])
        if len(self.places) < 65536:  # field names are declared, so few; stay bounded anyway
            self.places[name] = place
        return place

    cdef bytes _shared_json(self, value):
        """The JSON of an object shared by many records and never mutated (an observer, a ``log.syslog``),
        kept; None when orjson refuses it."""
        found = self.shared_json.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        try:
            made = _dumps(value)
        except TypeError:
            return None
        if len(self.shared_json) >= 256:
            self.shared_json.clear()
        self.shared_json[id(value)] = (value, made)
        return made

    cdef int _leaf(self, Tree* tree, int parent, int key, value) except -2:
        """Set leaf *key* of *parent* to the JSON of *value*, as orjson writes it; -3 when the table is full or
        orjson alone decides (text with lone surrogates, integers over 64 bits: the Python encoder raises)."""
        cdef Buf* sc = &self.scratch
        cdef Py_ssize_t start = sc.len
        cdef int node
        if not _render(sc, value, 0):
            return -3
        node = tree_set(tree, parent, key, NULL, sc.len - start, 3)
        if node >= 0:
            tree.nodes[node].voff = start
        return node

    cdef bint _line(self, CStream cs, bytes raw, Buf* out) except -1:
        """Append the event of *raw* to *out* (*out* NULL: make its record, ``made``); False (nothing
        written) when the Python path must read it."""
        cdef const char* s = PyBytes_AS_STRING(raw)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(raw)
        cdef Py_ssize_t i, body_start = 0, body_end = 0, key_end = 0
        cdef bint ascii = True
        cdef int form
        if memchr(s, 0, n) != NULL:
            return False
        if cs.dirty:
            cs.refresh()
        if cs.early:
            return False
        for i in range(n):
            if <unsigned char>s[i] >= 0x80:
                ascii = False
                break
        if not ascii:
            try:
                PyUnicode_DecodeUTF8(s, n, NULL)
            except UnicodeDecodeError:
                return False
        form = self._file_form(s, n, &body_start, &body_end, &key_end)
        if form == 0:
            return self._general(cs, s, n, out)
        if body_start == body_end or <unsigned char>s[body_start] >= 0x80 \
                or <unsigned char>s[body_end - 1] >= 0x80:
            return False  # str.strip decides on non-ASCII white space: the Python path reads it
        self.h_iso = self._stamp(cs, s, key_end)
        if self.h_iso is None:
            return False
        self.h_iso_text = cs.last_iso_str
        self.h_syslog = None
        self.h_observer = cs.observer_json
        self.h_observer_obj = cs.observer
        self.h_appname = None
        self.h_facts = None
        return self._body(cs, s, n, s + body_start, body_end - body_start, out)

    cdef int _file_form(self, const char* s, Py_ssize_t n, Py_ssize_t* body_start, Py_ssize_t* body_end,
                        Py_ssize_t* key_end):
        """The file form ``Dow Mon dd hh:mm:ss yyyy Level: `` (one or two spaces before a one-digit day):
        1 (body bounds, stamp end and ``h_level`` set), 0 another form."""
        cdef Py_ssize_t i, pos = 8
        if n < 26 or s[3] != b' ' or s[7] != b' ' or not _word3(DAYS, s) or not _word3(MONTHS, s + 4):
            return 0
        if s[pos] == b' ':
            pos += 1
        if not is_digit(s[pos]):
            return 0
        pos += 1
        if is_digit(s[pos]):
            pos += 1
        if pos + 15 > n or s[pos] != b' ':
            return 0
        pos += 1
        for i in range(8):  # hh:mm:ss yyyy
            if i == 2 or i == 5:
                if s[pos + i] != b':':
                    return 0
            elif not is_digit(s[pos + i]):
                return 0
        if s[pos + 8] != b' ':
            return 0
        for i in range(9, 13):
            if not is_digit(s[pos + i]):
                return 0
        pos += 13
        key_end[0] = pos
        if pos >= n or s[pos] != b' ':
            return 0
        i = pos + 1
        while i < n and i - pos <= 9 and s[i] != b':':
            i += 1
        if i + 1 >= n or s[i] != b':' or s[i + 1] != b' ':
            return 0
        self.h_level = _level(s + pos + 1, i - pos - 1)
        if self.h_level is None:
            return 0
        body_start[0] = i + 2
        body_end[0] = n
        while body_start[0] < body_end[0] and is_py_space(<unsigned char>s[body_start[0]]):
            body_start[0] += 1
        while body_end[0] > body_start[0] and is_py_space(<unsigned char>s[body_end[0] - 1]):
            body_end[0] -= 1
        return 1

    cdef bint _general(self, CStream cs, const char* s, Py_ssize_t n, Buf* out) except -1:
        """Any other header form (syslog, RFC 5424, relays, a bare level): the stream's Python header parser
        splits it, the core reads the body."""
        cdef const char* body
        cdef Py_ssize_t blen, plen, b0, b1
        cdef bytes prefix
        text = None
        for prefix, facts in cs.prefixes:
            plen = PyBytes_GET_SIZE(prefix)
            if plen <= n and memcmp(s, PyBytes_AS_STRING(prefix), plen) == 0:
                b0, b1 = plen, n
                while b0 < b1 and is_py_space(<unsigned char>s[b0]):
                    b0 += 1
                while b1 > b0 and is_py_space(<unsigned char>s[b1 - 1]):
                    b1 -= 1
                if b0 < b1 and <unsigned char>s[b0] < 0x80 and <unsigned char>s[b1 - 1] < 0x80:
                    text = PyUnicode_DecodeUTF8(s + b0, b1 - b0, NULL)
                break
        if text is None:
            header = cs.header
            known = header._prefix
            parts = header.split(PyUnicode_DecodeUTF8(s, n, NULL))
            if parts is None:
                return False
            facts, text = parts
            if header._prefix is not known and header._prefix:  # a header this parser vouches for: kept
                cs.keep_prefix(header._prefix.encode("utf-8"), header._prefix_facts)
        iso, level, priority, hostname, appname = facts
        if iso is None or level is None:
            return False  # stamped at parse time, or a CEF line
        self.h_iso = cs.iso_json(iso)
        self.h_iso_text = iso
        self.h_level = _LEVEL_JSON[level]
        self.h_observer = cs.observer_json_of(hostname)
        self.h_observer_obj = cs.observers_json[hostname][0]
        self.h_syslog = cs.syslog_json(priority, hostname, appname) \
            if priority is not None or appname or hostname else None
        self.h_appname = appname
        self.h_facts = facts
        body = PyUnicode_AsUTF8AndSize(text, &blen)
        return self._body(cs, s, n, body, blen, out)

    cdef bytes _stamp(self, CStream cs, const char* s, Py_ssize_t key_end):
        """The JSON text of the line's UTC stamp (None when the Python path must stamp it)."""
        cdef Py_ssize_t key_len = key_end - 4
        cdef object header = cs.header
        if key_len == cs.last_key_len and memcmp(cs.last_key, s + 4, key_len) == 0:
            return cs.last_iso
        key = s[4:key_end].decode("ascii")
        mon, _, rest = key.partition(" ")
        day, hms, year = rest.split()
        iso = header._stamp(key, year, mon, day, hms)
        if header._last_key != key:  # an impossible date: stamped at ingest, never cached
            return None
        cs.last_iso = _dumps(iso)
        cs.last_iso_str = iso
        if key_len <= 31:
            memcpy(cs.last_key, s + 4, key_len)
            cs.last_key_len = key_len
        cs.last_offset = header.utc_offset
        return cs.last_iso

    cdef bint _body(self, CStream cs, const char* s, Py_ssize_t n, const char* body, Py_ssize_t blen,
                    Buf* out) except -1:
        """Route, dispatch and match the message *body* of line *s* (header in ``h_*``), then write its event."""
        cdef CPack cpack
        cdef CRule crule = None
        cdef tuple cands
        cdef object m = None
        cdef object log_type
        cdef Py_ssize_t s1, s2, s3, alen, bstart, bend
        cdef str body_str = None
        cdef tuple groups = None
        cdef int rc = 0
        cdef bint printable, matched = False
        # routing (parser.LineParser.parse and _route)
        if blen >= 4 and memcmp(body, b"CEF:", 4) == 0:
            return False
        by_app = cs.app_log_type(self.h_appname, self.route) if self.h_appname else None
        if self.forced is not None:
            log_type = self.forced
        elif by_app:
            log_type = by_app
        elif cs.log_type is not None:
            log_type = cs.log_type
        elif (blen >= 9 and (memcmp(body, b"Bounced: ", 9) == 0 or memcmp(body, b"Delayed: ", 9) == 0)
                and _contains(body, blen, b" From:", 6)):
            log_type = "bounce_logs" if "bounce_logs" in self.packs else "mail_logs"
        else:
            log_type = "mail_logs"
        cpack = self.packs.get(log_type)
        if cpack is None:
            if log_type in self.other_types or self.mail is None:
                return False
            cpack = self.mail
        if cpack.dataset_json is None:
            cpack.load()
        # dispatch key: "W1 W2", skipping a numeric id after W1 (grok.body_key)
        s1 = _find_space(body, 0, blen)
        bstart = bend = 0
        if s1 < 0:
            alen = blen
        else:
            s2 = _find_space(body, s1 + 1, blen)
            if s2 >= 0 and _digits(body + s1 + 1, s2 - s1 - 1):
                s3 = _find_space(body, s2 + 1, blen)
                alen, bstart, bend = s1 + 1, s2 + 1, (s3 if s3 >= 0 else blen)
            else:
                alen = s2 if s2 >= 0 else blen
                if s2 >= 0 and not _ascii(body + s1 + 1, s2 - s1 - 1):
                    return False  # a non-ASCII second word: str.isdigit decides, the Python path reads it
        cands = <tuple>cpack.candidates(body, alen, body + bstart, bend - bstart, body, blen)
        printable = _printable(body, blen)  # where PCRE2 and Python re read alike
        for crule in cands:
            if not crule.plain:
                return False  # a user rule matched within a time budget: the Python path tries the candidates
            if printable and crule.pcre_state >= 0:
                if crule.pcre_state == 0:
                    self._prepare(crule)
                if crule.pcre_state == 1:
                    rc = pcre2_jit_match(crule.code, <PCRE2_SPTR>body, blen, 0, 0, self.match_data, NULL)
                    if rc > 0:
                        matched = True
                        break
                    if rc == PCRE2_ERROR_NOMATCH:
                        continue
                    rc = 0  # a PCRE2 limit: Python re decides
            if body_str is None:
                body_str = PyUnicode_DecodeUTF8(body, blen, NULL)
            m = PyObject_CallOneArg(crule.fullmatch, body_str)
            if m is not None:
                groups = <tuple>PyObject_CallOneArg(self.match_groups, m)
                matched = True
                break
        if not matched:
            if out == NULL and self.unmatched is not None:
                if body_str is None:
                    body_str = PyUnicode_DecodeUTF8(body, blen, NULL)
                level, priority, hostname, appname = self._header_facts()
                self.made = self.unmatched(cs.stream, PyUnicode_DecodeUTF8(s, n, NULL), body_str, cpack.pack,
                                           self.h_iso_text, level, priority, hostname, appname)
                cs.dirty = True  # another pack's rule read it: a header line of that pack may change the stream
                return True
            return False
        if out == NULL:
            return self._record(cs, cpack, crule, groups, rc, s, n, body_str, body, blen)
        if not crule.native:
            return False
        return self._event(cs, cpack, crule, groups, rc, s, n, body, blen, out)

    cdef bint _record(self, CStream cs, CPack cpack, CRule crule, tuple groups, int rc, const char* s,
                      Py_ssize_t n, str body_str, const char* body, Py_ssize_t blen) except -1:
        """The record of a matched line (``made``), its captures converted as ``CompiledRule.convert`` does:
        *groups* from ``re``, else PCRE2's ovector (*rc* its count). False: the Python path reads the line
        (a header line of the input, or a converter that raises)."""
        cdef list values
        cdef Py_ssize_t i, tlen
        cdef int g, code
        cdef long long v
        cdef const char* t
        cdef object text
        if crule.header_line:
            return False
        values = [None] * crule.nslots
        for i in range(crule.nslots):
            g = crule.slot_groups[i]
            if groups is not None:
                text = groups[g]
                if text is None:
                    continue
            else:
                g += 1
                if g >= rc or self.ovector[2 * g] == PCRE2_UNSET:
                    continue
                t = body + <Py_ssize_t>self.ovector[2 * g]
                tlen = <Py_ssize_t>(self.ovector[2 * g + 1] - self.ovector[2 * g])
                text = None
            code = crule.slot_convs[i]
            if code == C_INT:
                if text is not None:
                    t = PyUnicode_AsUTF8AndSize(text, &tlen)
                if _parse_int(t, tlen, &v):
                    values[i] = v
                    continue
            if text is None:
                text = PyUnicode_DecodeUTF8(t, tlen, NULL)
            if code == C_STR:
                values[i] = text
                continue
            try:
                values[i] = crule.slot_pyconvs[i](text)
            except Exception:
                return False  # the Python path tags the conversion error (or raises as it would)
        if body_str is None:
            body_str = PyUnicode_DecodeUTF8(body, blen, NULL)
        level, priority, hostname, appname = self._header_facts()
        if crule.plain_record and self.record_type is not None:
            self.made = self._plain_record(cs, cpack, crule, values, s, n, body_str, level, priority, hostname,
                                           appname)
            return True
        self.made = self.finish(cs.stream, PyUnicode_DecodeUTF8(s, n, NULL), body_str, cpack.dataset,
                                self.h_iso_text, level, priority, hostname, appname, crule.rule, values)
        return True

    cdef tuple _header_facts(self):
        """The level, syslog priority, host name and subscription name of the line being read."""
        facts = self.h_facts
        if facts is None:
            return _LEVEL_TEXT[self.h_level], None, None, None
        return facts[1:]

    cdef int _prepare(self, CRule crule) except -1:
        """Compile *crule* for PCRE2's JIT, kept only when its examples give the same groups as ``re``."""
        cdef int error = 0
        cdef PCRE2_SIZE offset = 0
        cdef pcre2_code* code
        crule.pcre_state = -1
        regex = crule.rule.regex
        if regex.flags & ~re.UNICODE or _PCRE2_UNSAFE.search(regex.pattern):
            return 0
        wrapped = ("(?:" + regex.pattern + ")\\z").encode("ascii")
        code = pcre2_compile(<PCRE2_SPTR>PyBytes_AS_STRING(wrapped), PyBytes_GET_SIZE(wrapped), PCRE2_ANCHORED,
                             &error, &offset, NULL)
        if code == NULL:
            return 0
        if pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0 or not self._same_groups(code, regex, crule.rule):
            pcre2_code_free(code)
            return 0
        crule.code = code
        crule.pcre_state = 1
        return 0

    cdef bint _same_groups(self, pcre2_code* code, regex, rule) except -1:
        """Whether PCRE2 and ``re`` agree on every example body of *rule* PCRE2 would read (at least one)."""
        cdef int rc, g
        cdef bytes raw
        checked = 0
        for body in self.examples(rule):
            raw = body.encode("utf-8")
            if not _printable(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw)):
                continue
            m = regex.fullmatch(body)
            rc = pcre2_jit_match(code, <PCRE2_SPTR>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw), 0, 0,
                                 self.match_data, NULL)
            if (m is None) != (rc == PCRE2_ERROR_NOMATCH) or (m is None and rc != PCRE2_ERROR_NOMATCH):
                return False
            if m is not None:
                for g in range(1, regex.groups + 1):
                    start, end = m.span(g)
                    if g >= rc or self.ovector[2 * g] == PCRE2_UNSET:
                        if start != -1:
                            return False
                    elif (start, end) != (self.ovector[2 * g], self.ovector[2 * g + 1]):
                        return False
            checked += 1
        return checked > 0

    cdef bint _event(self, CStream cs, CPack cpack, CRule crule, tuple groups, int rc, const char* s,
                     Py_ssize_t n, const char* body, Py_ssize_t blen, Buf* out) except -1:
        """The event of a matched line: *groups* from ``re``, else PCRE2's ovector (*rc* its count)."""
        cdef Tree tree
        cdef Slot slots[MAX_VALUES]
        cdef Buf* sc = &self.scratch
        cdef Py_ssize_t start, i, msg_start, msg_len = 0, orig_start, orig_len = 0, local_start, local_len
        cdef bint clean
        cdef Py_ssize_t related_start, related_len, table_start = 0, table_len
        cdef bytes direction
        cdef int node, parent, k, slot, g
        cdef object text
        cdef const char* t
        cdef Py_ssize_t tlen
        cdef Op* op
        cdef bytes obs
        cdef const char* base
        sc.len = 0
        # values are rendered into the scratch buffer first (leaves point into it once it stops growing),
        # but text of a line that needs no escaping is written straight from the line
        clean = not needs_escape(s, n)
        msg_start = orig_start = 0
        if not clean:
            buf_json_str(sc, body, blen)
            msg_len = sc.len
            orig_start = sc.len
            if self.keep_original:
                buf_json_str(sc, s, n)
            orig_len = sc.len - orig_start
        for i in range(crule.nslots):
            g = crule.slot_groups[i]
            if groups is not None:
                text = groups[g]
                if text is None:
                    slots[i].start = -1
                    continue
                t = PyUnicode_AsUTF8AndSize(text, &tlen)
            else:
                g += 1
                if g >= rc or self.ovector[2 * g] == PCRE2_UNSET:
                    slots[i].start = -1
                    continue
                text = None
                t = body + <Py_ssize_t>self.ovector[2 * g]
                tlen = <Py_ssize_t>(self.ovector[2 * g + 1] - self.ovector[2 * g])
            slots[i].raw = NULL
            if clean and text is None and crule.slot_convs[i] == C_STR:  # a piece of the line as it is
                slots[i].start = 0
                slots[i].raw = t
                slots[i].length = tlen
                continue
            start = sc.len
            if not self._convert(sc, crule.slot_convs[i], crule.slot_pyconvs[i], t, tlen, text):
                return False
            slots[i].start = start
            slots[i].length = sc.len - start
            if slots[i].length == 0:  # the converter gave None: nothing stored
                slots[i].start = -1
        table_len = 0
        if crule.direction:
            if crule.table_slot >= 0 and slots[crule.table_slot].start >= 0:
                i = crule.table_slot
                table_start = sc.len
                if slots[i].raw != NULL:
                    buf_json_str(sc, slots[i].raw, slots[i].length)
                else:
                    buf_put_self(sc, slots[i].start, slots[i].length)
                table_len = sc.len - table_start
            elif crule.table_static is not None:
                table_start, table_len = sc.len, PyBytes_GET_SIZE(crule.table_static)
                buf_bytes(sc, crule.table_static)
        local_start = sc.len
        if crule.mid_slot >= 0 and slots[crule.mid_slot].start >= 0:
            buf_byte(sc, b'"')
            buf_put_self(sc, slots[crule.mid_slot].start, slots[crule.mid_slot].length)
            buf_byte(sc, b'"')
        local_len = sc.len - local_start
        related_start = sc.len
        if crule.src_slot >= 0 or crule.dst_slot >= 0 or crule.src_static is not None \
                or crule.dst_static is not None:
            self._related(crule, slots, sc)
        related_len = sc.len - related_start
        base = sc.data
        # the document: skeleton, the rule's statics and captures in plan order, then the derived ids
        tree_init(&tree)
        tree_set(&tree, 0, self.k_ts, PyBytes_AS_STRING(self.h_iso), PyBytes_GET_SIZE(self.h_iso))
        if clean:
            tree_set(&tree, 0, self.k_message, body, blen, 2)
        else:
            tree_set(&tree, 0, self.k_message, base + msg_start, msg_len)
        node = tree_child(&tree, 0, self.k_event, True)
        tree_set(&tree, node, self.k_kind, b'"event"', 7)
        tree_set(&tree, node, self.k_module, b'"cisco_esa"', 11)
        tree_set(&tree, node, self.k_dataset, PyBytes_AS_STRING(cpack.dataset_json),
                 PyBytes_GET_SIZE(cpack.dataset_json))
        if self.keep_original:
            if clean:
                tree_set(&tree, node, self.k_original, s, n, 2)
            else:
                tree_set(&tree, node, self.k_original, base + orig_start, orig_len)
        obs = self.h_observer
        tree_set(&tree, 0, self.k_observer, PyBytes_AS_STRING(obs), PyBytes_GET_SIZE(obs))
        node = tree_child(&tree, 0, self.k_log, True)
        tree_set(&tree, node, self.k_level, PyBytes_AS_STRING(self.h_level), PyBytes_GET_SIZE(self.h_level))
        if self.h_syslog is not None:
            tree_set(&tree, node, self.k_syslog, PyBytes_AS_STRING(self.h_syslog), PyBytes_GET_SIZE(self.h_syslog))
        node = tree_child(&tree, tree_child(&tree, 0, self.k_cisco, True), self.k_esa, True)
        tree_set(&tree, node, self.k_kind, PyBytes_AS_STRING(crule.kind_json), PyBytes_GET_SIZE(crule.kind_json))
        for i in range(crule.nops):
            op = &crule.ops[i]
            slot = op.slot
            if slot >= 0 and slots[slot].start < 0:
                continue
            parent = 0
            for k in range(op.depth):
                parent = tree_child(&tree, parent, op.path[k], True)
                if parent < 0:
                    return False
            if slot < 0:
                node = tree_set(&tree, parent, op.leaf, op.static_val, op.static_len)
            elif slots[slot].raw != NULL:
                node = tree_set(&tree, parent, op.leaf, slots[slot].raw, slots[slot].length, 2)
            else:
                node = tree_set(&tree, parent, op.leaf, base + slots[slot].start, slots[slot].length)
            if node < 0:
                return False
        if table_len:  # direction_from_table
            direction = _direction(base + table_start, table_len)
            if direction is not None:
                node = tree_child(&tree, 0, self.k_email, True)
                if node < 0 or tree_set(&tree, node, self.k_direction, PyBytes_AS_STRING(direction),
                                        PyBytes_GET_SIZE(direction)) < 0:
                    return False
        if local_len:
            node = tree_child(&tree, 0, self.k_email, True)
            if node < 0 or tree_set(&tree, node, self.k_local_id, base + local_start, local_len) < 0:
                return False
        if related_len:
            node = tree_child(&tree, 0, self.k_related, True)
            if node < 0 or tree_set(&tree, node, self.k_ip, base + related_start, related_len) < 0:
                return False
        tree_write(&tree, 0, out, <const char**>self.keys.ptrs, self.keys.lens, sc.data)
        buf_byte(out, b'\n')
        self.h_dataset = cpack.dataset
        return True

    cdef int _related(self, CRule crule, Slot* slots, Buf* sc) except -1:
        """``related.ip``: the source and destination addresses, once each (parser._derive)."""
        a = _slot_json(sc, slots, crule.src_slot, crule.src_static)
        b = _slot_json(sc, slots, crule.dst_slot, crule.dst_static)
        if a is None and b is None:
            return 0
        pieces = (a or b"", b or b"")
        buf_byte(sc, b'[')
        if a is not None:
            buf_bytes(sc, pieces[0])
        if b is not None and not (a is not None and pieces[0] == pieces[1]):
            if a is not None:
                buf_byte(sc, b',')
            buf_bytes(sc, pieces[1])
        buf_byte(sc, b']')
        return 0

    cdef bint _convert(self, Buf* sc, int code, object pyconv, const char* t, Py_ssize_t n, object text) except -1:
        """Render the value of capture *t* into *sc* (nothing when None); False: the Python path reads it.

        *text* is the capture as a string when ``re`` gave it (else made here for a Python converter).
        """
        cdef long long v
        cdef Py_ssize_t i
        if code == C_STR:
            buf_json_str(sc, t, n)
            return True
        if code == C_INT:
            if _parse_int(t, n, &v):
                buf_int(sc, v)
                return True
        elif code == C_LIST:
            buf_byte(sc, b'[')
            buf_json_str(sc, t, n)
            buf_byte(sc, b']')
            return True
        elif code == C_ADDRESS_LIST:
            if n > 2 and t[0] == b'<' and t[n - 1] == b'>' and _plain(t[1]) and _plain(t[n - 2]):
                buf_byte(sc, b'[')
                buf_json_str(sc, t + 1, n - 2)
                buf_byte(sc, b']')
                return True
        elif code == C_RID_LIST:
            if _rid_list(sc, t, n):
                return True
        elif code == C_YESNO:
            if _yesno(sc, t, n):
                return True
        elif code == C_LOWER:
            if _ascii(t, n):
                start = sc.len
                buf_json_str(sc, t, n)
                for i in range(start, sc.len):
                    if 65 <= sc.data[i] <= 90:
                        sc.data[i] += 32
                return True
        elif code == C_UNQUOTE or code == C_SUBJECT:
            if memchr(t, b'\\', n) == NULL and not (code == C_SUBJECT and _contains(t, n, b"=?", 2)):
                if n >= 2 and t[0] == t[n - 1] and (t[0] == b"'" or t[0] == b'"'):
                    buf_json_str(sc, t + 1, n - 2)
                else:
                    buf_json_str(sc, t, n)
                return True
        if text is None:
            text = PyUnicode_DecodeUTF8(t, n, NULL)
        if code == C_FLOAT:
            return self._python_value(sc, float, text)
        return self._python_value(sc, pyconv, text)

    cdef bint _python_value(self, Buf* sc, object conv, str text) except -1:
        """The Python converter's value, rendered as orjson renders it; False when it raises."""
        cdef int overflow = 0
        cdef long long v
        cdef const char* t
        cdef Py_ssize_t n
        try:
            value = conv(text)
        except Exception:
            return False  # conversion errors are tagged by the Python path
        if value is None:
            return True
        if type(value) is str:
            if not _encodable(value):
                return False  # lone surrogates: orjson refuses them, and so does the Python path
            t = PyUnicode_AsUTF8AndSize(value, &n)
            buf_json_str(sc, t, n)
        elif type(value) is int:
            v = PyLong_AsLongLongAndOverflow(value, &overflow)
            if overflow:
                return False
            buf_int(sc, v)
        else:
            try:
                rendered = orjson.dumps(value)
            except TypeError:
                return False
            buf_bytes(sc, rendered)
        return True


#: The slots of parser.Record, in the order Core._plain_record sets them.
RECORD_SLOTS = ("timestamp", "message", "dataset", "observer", "appliance", "kind", "original", "created", "level",
                "syslog", "tags", "rule", "values", "extra", "extra_roots", "document", "encoded", "mid", "icid",
                "dcid")


cdef inline object _int_slot(list values, int slot):
    """The integer in value slot *slot* (None when there is none, or not an integer)."""
    if slot < 0:
        return None
    value = values[slot]
    return value if type(value) is int else None


cdef inline object _get_slot(object obj, Py_ssize_t offset):
    """The value in the slot at *offset* of *obj* (which holds one: see Core._all_set)."""
    return <object>(<PyObject**>(<char*><PyObject*>obj + offset))[0]


cdef inline void _put_slot(object obj, Py_ssize_t offset, object value):
    """Set the slot at *offset* of *obj* (a member descriptor's place) to *value*."""
    cdef PyObject** place = <PyObject**>(<char*><PyObject*>obj + offset)
    Py_INCREF(value)
    Py_XDECREF(place[0])
    place[0] = <PyObject*>value


cdef object _orjson_dumps = orjson.dumps
DEF MAX_RENDER_DEPTH = 64


cdef bint _render(Buf* sc, value, int depth) except -1:
    """Append the JSON of *value* as orjson writes it (text, integers, booleans, None, dicts with text keys,
    lists and tuples natively; other types by orjson); False when orjson alone decides (lone surrogates,
    integers over 64 bits, other keys, deep nesting: the Python encoder raises or writes it)."""
    cdef object kind = type(value)
    cdef const char* t
    cdef Py_ssize_t n
    cdef int overflow = 0
    cdef long long v
    cdef bint first = True
    if kind is str:
        try:
            t = PyUnicode_AsUTF8AndSize(value, &n)
        except UnicodeEncodeError:
            return False
        buf_json_str(sc, t, n)
    elif kind is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow:
            return False
        buf_int(sc, v)
    elif value is None:
        buf_put(sc, b"null", 4)
    elif value is True:
        buf_put(sc, b"true", 4)
    elif value is False:
        buf_put(sc, b"false", 5)
    elif depth >= MAX_RENDER_DEPTH:
        return False
    elif kind is dict:
        buf_byte(sc, b'{')
        for key, item in (<dict>value).items():
            if type(key) is not str:
                return False
            if not first:
                buf_byte(sc, b',')
            first = False
            if not _render(sc, key, depth + 1):
                return False
            buf_byte(sc, b':')
            if not _render(sc, item, depth + 1):
                return False
        buf_byte(sc, b'}')
    elif kind is list or kind is tuple:
        buf_byte(sc, b'[')
        for item in value:
            if not first:
                buf_byte(sc, b',')
            first = False
            if not _render(sc, item, depth + 1):
                return False
        buf_byte(sc, b']')
    else:
        try:
            buf_bytes(sc, _orjson_dumps(value))
        except TypeError:
            return False
    return True


cdef bytes _slot_json(Buf* sc, Slot* slots, int slot, bytes static):
    """The JSON text of a slot's value (a copy: the scratch buffer may move), else of *static*, else None."""
    if slot >= 0 and slots[slot].start >= 0:
        if slots[slot].raw == NULL:
            return sc.data[slots[slot].start:slots[slot].start + slots[slot].length]
        return b'"' + slots[slot].raw[:slots[slot].length] + b'"'
    return static


cdef bytes L_INBOUND = b'"inbound"', L_OUTBOUND = b'"outbound"'


cdef bytes _direction(const char* s, Py_ssize_t n):
    """``email.direction`` from the policy table's JSON (post.direction_from_table)."""
    if n == 9 and memcmp(s, b'"inbound"', 9) == 0:
        return L_INBOUND
    if n == 10 and memcmp(s, b'"outbound"', 10) == 0:
        return L_OUTBOUND
    return None


cdef bint _encodable(str value):
    try:
        PyUnicode_AsUTF8AndSize(value, NULL)
        return True
    except UnicodeEncodeError:
        return False


cdef inline bint _plain(char c):
    """Not white space for ``str.isspace`` (a non-ASCII byte: unknown, the Python converter decides)."""
    return <unsigned char>c < 0x80 and not is_py_space(<unsigned char>c)


cdef inline Py_ssize_t _find_space(const char* s, Py_ssize_t start, Py_ssize_t n):
    cdef const char* p = <const char*>memchr(s + start, b' ', n - start) if start < n else NULL
    return -1 if p == NULL else p - s


cdef inline bint _digits(const char* s, Py_ssize_t n):
    cdef Py_ssize_t i
    if n <= 0:
        return False
    for i in range(n):
        if not is_digit(s[i]):
            return False
    return True


cdef inline bint _printable(const char* s, Py_ssize_t n):
    """Printable ASCII only (no control characters, no tab): there PCRE2 and Python re classes agree."""
    cdef Py_ssize_t i
    for i in range(n):
        if not (0x20 <= <unsigned char>s[i] <= 0x7e):
            return False
    return True


cdef inline bint _ascii(const char* s, Py_ssize_t n):
    cdef Py_ssize_t i
    for i in range(n):
        if <unsigned char>s[i] >= 0x80:
            return False
    return True


cdef bint _contains(const char* s, Py_ssize_t n, const char* needle, Py_ssize_t m):
    cdef Py_ssize_t i
    for i in range(n - m + 1):
        if s[i] == needle[0] and memcmp(s + i, needle, m) == 0:
            return True
    return False


cdef bint _parse_int(const char* t, Py_ssize_t n, long long* out):
    """``int(text)`` for ``[+-]?[0-9]{1,18}`` (anything else: the Python converter decides)."""
    cdef Py_ssize_t i = 0
    cdef long long v = 0
    cdef bint neg = False
    if n and (t[0] == b'-' or t[0] == b'+'):
        neg = t[0] == b'-'
        i = 1
    if n - i < 1 or n - i > 18:
        return False
    while i < n:
        if not is_digit(t[i]):
            return False
        v = v * 10 + (t[i] - 48)
        i += 1
    out[0] = -v if neg else v
    return True


cdef bint _rid_list(Buf* sc, const char* t, Py_ssize_t n) except -1:
    """``0`` -> ``[0]``, ``[0, 1]`` -> ``[0,1]`` (other shapes: the Python converter)."""
    cdef long long v
    cdef Py_ssize_t i, j
    cdef Py_ssize_t start = sc.len
    if _parse_int(t, n, &v) and is_digit(t[0]):
        buf_byte(sc, b'[')
        buf_int(sc, v)
        buf_byte(sc, b']')
        return True
    if n < 3 or t[0] != b'[' or t[n - 1] != b']':
        return False
    buf_byte(sc, b'[')
    i = 1
    while True:
        j = i
        while j < n - 1 and is_digit(t[j]):
            j += 1
        if j == i or j - i > 18 or not _parse_int(t + i, j - i, &v):
            sc.len = start
            return False
        if sc.len > start + 1:
            buf_byte(sc, b',')
        buf_int(sc, v)
        if j == n - 1:
            break
        if t[j] != b',':
            sc.len = start
            return False
        j += 1
        while j < n - 1 and t[j] == b' ':
            j += 1
        i = j
    buf_byte(sc, b']')
    return True


cdef bint _yesno(Buf* sc, const char* t, Py_ssize_t n) except -1:
    cdef char low[6]
    cdef Py_ssize_t i
    if not _ascii(t, n):
        return False  # the Python converter lower-cases it
    if n > 5:
        return True  # neither word: None
    for i in range(n):
        low[i] = t[i] + 32 if 65 <= t[i] <= 90 else t[i]
    if (n == 3 and memcmp(low, b"yes", 3) == 0) or (n == 4 and memcmp(low, b"true", 4) == 0):
        buf_put(sc, b"true", 4)
    elif (n == 2 and memcmp(low, b"no", 2) == 0) or (n == 5 and memcmp(low, b"false", 5) == 0):
        buf_put(sc, b"false", 5)
    return True
