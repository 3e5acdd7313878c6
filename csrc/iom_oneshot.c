/* iom_oneshot: scoring a batch once, with no store (see iom_oneshot.h). */
#include "iom_oneshot.h"

#include <stdlib.h>
#include <string.h>

#include "iom_base.h"
#include "iom_helper.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* A part smaller than this is not split between two threads (bytes, rows). */
#define IOM_SPLIT_BYTES ((int64_t)1 << 20)
#define IOM_SPLIT_ROWS ((int64_t)1 << 16)
/* Rows ahead at which a hash table's slot is prefetched. */
#define IOM_TABLE_AHEAD 16

/* fn(mine) on the calling thread and fn(other) on the helper if split, else both
 * on the calling thread (an empty part's job does nothing). */
static void run_pair(void *(*fn)(void *), void *mine, void *other, int split) {
    iom_helper h;
    if (split) {
        iom_helper_start(&h, fn, other);
    } else {
        iom_helper_here(&h, fn, other);
    }
    fn(mine);
    iom_helper_finish(&h);
}

/* ---- counting lines ------------------------------------------------------------------ */

typedef struct {
    const char *buf;
    iom_csv_part *part;
    int last;      /* the file's last part: a last line may lack its newline */
    int ascii;
} count_job;

static void *count_part(void *arg) {
    count_job *job = arg;
    const unsigned char *p = (const unsigned char *)job->buf + job->part->begin;
    int64_t n = job->part->end - job->part->begin, lines = 0;
    unsigned char high = 0;
    for (int64_t i = 0; i < n; i++) { /* the compiler vectorises this loop */
        lines += p[i] == '\n';
        high |= p[i];
    }
    if (job->last && n > 0 && p[n - 1] != '\n') lines++;
    job->part->lines = lines;
    job->ascii = high < 0x80;
    return NULL;
}

int iom_csv_count(const char *buf, int64_t begin, int64_t end, int parts, iom_csv_part *out) {
    int64_t split = end;
    if (parts > 1 && end - begin >= IOM_SPLIT_BYTES) {
        const char *nl = memchr(buf + begin + (end - begin) / 2, '\n',
                                (size_t)(end - begin - (end - begin) / 2));
        if (nl != NULL) split = nl - buf + 1;
    }
    for (int k = 0; k < 2; k++) { /* the words stay: a file is read a chunk at a time */
        out[k].lines = out[k].first_row = 0;
        out[k].rc = IOM_OK;
    }
    out[0].begin = begin;
    out[0].end = split;
    out[1].begin = split;
    out[1].end = end;
    count_job jobs[2] = {{buf, &out[0], split == end, 0}, {buf, &out[1], 1, 0}};
    run_pair(count_part, &jobs[0], &jobs[1], split < end);
    out[1].first_row = out[0].lines;
    for (int k = 0; k < 2; k++) out[k].fault = -1;
    return jobs[0].ascii && jobs[1].ascii;
}

/* ---- the words of a text column ------------------------------------------------------ */

/* Most words are short (an offence code, a dataset's name): such a word is
 * looked up by its first 16 bytes, zero-padded, compared as two words. */
#define IOM_SHORT_WORD 16

typedef struct {
    uint64_t head[2];
    uint64_t hash;
} word_key;

static uint64_t load_le(const char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The key of buf[s, s + n); `end` bounds what may be read. */
static word_key word_key_of(const char *buf, int64_t s, int64_t n, int64_t end) {
    word_key k = {{0, 0}, 0};
    const char *p = buf + s;
    if (s + IOM_SHORT_WORD <= end) {
        uint64_t a = load_le(p), b = load_le(p + 8);
        if (n < 8) {
            k.head[0] = n ? a & (~0ull >> (64 - 8 * n)) : 0;
        } else {
            k.head[0] = a;
            k.head[1] = n >= 16 ? b : (n > 8 ? b & (~0ull >> (64 - 8 * (n - 8))) : 0);
        }
    } else {
        char tmp[IOM_SHORT_WORD] = {0};
        memcpy(tmp, p, (size_t)(n < IOM_SHORT_WORD ? n : IOM_SHORT_WORD));
        k.head[0] = load_le(tmp);
        k.head[1] = load_le(tmp + 8);
    }
    /* Two multiplies side by side (each row's lookup waits on this hash); a slot
     * is taken from the product's top bits, which depend on every bit of the
     * word (word_slot), so words alike in all but a few bytes spread out. */
    uint64_t h = ((k.head[0] ^ (uint64_t)n) * 0x9E3779B97F4A7C15ull) ^
                 (k.head[1] * 0xC2B2AE3D27D4EB4Full);
    for (int64_t i = IOM_SHORT_WORD; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x9E3779B97F4A7C15ull;
    k.hash = h;
    return k;
}

/* The first slot to look in for a hash, in a table of cap slots (a power of 2). */
static inline uint64_t word_slot(uint64_t hash, int64_t cap) {
    return hash >> (64 - __builtin_ctzll((uint64_t)cap));
}

static int words_grow(iom_words *w) {
    int64_t cap = w->cap ? w->cap * 2 : 64;
    void *raw = NULL; /* slots on cache lines of their own */
    iom_word_slot *slot = posix_memalign(&raw, 64, (size_t)cap * sizeof *slot) ? NULL : raw;
    int64_t *start = realloc(w->start, (size_t)(cap / 2) * sizeof *start);
    if (start) w->start = start;
    int32_t *len = realloc(w->len, (size_t)(cap / 2) * sizeof *len);
    if (len) w->len = len;
    if (!slot || !start || !len) {
        free(slot);
        return IOM_ENOMEM;
    }
    memset(slot, 0, (size_t)cap * sizeof *slot);
    for (int64_t h = 0; h < w->cap; h++) {
        if (!w->slot[h].value) continue;
        uint64_t k = word_slot(w->slot[h].hash, cap);
        while (slot[k].value) k = (k + 1) & (uint64_t)(cap - 1);
        slot[k] = w->slot[h];
    }
    free(w->slot);
    w->slot = slot;
    w->cap = cap;
    return IOM_OK;
}

/* Room for n more bytes of values: 0, -1 past IOM_CSV_MAX_WORD_BYTES, -2 if
 * memory ran out. */
static int words_room(iom_words *w, int64_t n) {
    if (w->used + n <= w->room) return 0;
    if (w->used + n > IOM_CSV_MAX_WORD_BYTES) return -1;
    int64_t room = w->room ? w->room : 4096;
    while (room < w->used + n) room *= 2;
    char *bytes = realloc(w->bytes, (size_t)room);
    if (!bytes) return -2;
    w->bytes = bytes;
    w->room = room;
    return 0;
}

/* The index of buf[s, s + n) among the words (added if new); -1 if there are
 * too many words, -2 if memory ran out. */
static int64_t word_index(iom_words *w, const char *buf, int64_t s, int64_t n, int64_t end) {
    if (2 * (w->count + 1) > w->cap) {
        if (w->count >= IOM_CSV_MAX_WORDS) return -1;
        if (words_grow(w) != IOM_OK) return -2;
    }
    word_key k = word_key_of(buf, s, n, end);
    uint64_t mask = (uint64_t)w->cap - 1, h = word_slot(k.hash, w->cap);
    for (;; h = (h + 1) & mask) {
        const iom_word_slot *e = &w->slot[h];
        if (!e->value) break;
        if (e->head[0] == k.head[0] && e->head[1] == k.head[1] && e->len == n &&
            (n <= IOM_SHORT_WORD ||
             memcmp(w->bytes + w->start[e->value - 1], buf + s, (size_t)n) == 0))
            return e->value - 1;
    }
    int room = words_room(w, n);
    if (room < 0) return room;
    if (n) memcpy(w->bytes + w->used, buf + s, (size_t)n);
    int64_t v = w->count++;
    w->slot[h] = (iom_word_slot){{k.head[0], k.head[1]}, k.hash, (int32_t)n, (int32_t)(v + 1)};
    w->start[v] = w->used;
    w->used += n;
    w->len[v] = (int32_t)n;
    return v;
}

int iom_intern(const char *data, const void *offsets, int wide, int64_t n, iom_words *words,
               int32_t *out) {
    const int32_t *narrow = offsets;
    const int64_t *broad = offsets;
    int64_t end = wide ? broad[n] : narrow[n];
    for (int64_t i = 0; i < n; i++) {
        int64_t s = wide ? broad[i] : narrow[i], t = wide ? broad[i + 1] : narrow[i + 1];
        if (t < s || t > end) return IOM_EINDEX;
        if (t - s > IOM_CSV_MAX_LINE) return IOM_ETOOMANY; /* for dictionary_encode */
        int64_t v = word_index(words, data, s, t - s, end);
        if (v < 0) return v == -2 ? IOM_ENOMEM : IOM_ETOOMANY;
        out[i] = (int32_t)v;
    }
    return IOM_OK;
}

void iom_words_free(iom_words *w) {
    free(w->slot);
    free(w->bytes);
    free(w->start);
    free(w->len);
    memset(w, 0, sizeof *w);
}

void iom_csv_part_free(iom_csv_part *part) {
    iom_words_free(&part->words[0]);
    iom_words_free(&part->words[1]);
}

/* ---- values -------------------------------------------------------------------------- */

/* [s, t) without the spaces and tabs around it. */
static void trim(const char **s, const char **t) {
    while (*s < *t && (**s == ' ' || **s == '\t')) (*s)++;
    while (*t > *s && ((*t)[-1] == ' ' || (*t)[-1] == '\t')) (*t)--;
}

/* An id: 1 to 18 digits (so below 2**63), spaces and tabs around. */
static int parse_id(const char *s, const char *t, int64_t *out) {
    trim(&s, &t);
    int64_t n = t - s, v = 0;
    if (n < 1 || n > 18) return 0;
    for (; s < t; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int two(const char *s) {
    unsigned a = (unsigned)(s[0] - '0'), b = (unsigned)(s[1] - '0');
    return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int32_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int era = y / 400; /* y >= 0 here */
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

/* A date YYYY-MM-DD of a year from 1 to 9999, spaces and tabs around. */
static int parse_date(const char *s, const char *t, int32_t *out) {
    static const int month_days[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    trim(&s, &t);
    if (t - s != 10 || s[4] != '-' || s[7] != '-') return 0;
    int hi = two(s), lo = two(s + 2), m = two(s + 5), d = two(s + 8);
    if (hi < 0 || lo < 0 || m < 1 || m > 12 || d < 1) return 0;
    int y = hi * 100 + lo;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || d > month_days[m] + (m == 2 && leap)) return 0;
    *out = days_from_civil(y, m, d);
    return 1;
}

/* ---- records ------------------------------------------------------------------------- */

typedef struct {
    const char *buf;
    const iom_csv_layout *layout;
    iom_csv_part *part;
    const iom_csv_rows *rows;
} parse_job;

/* The first of `,` `\n` `\r` `"` in [p, e), or e: sixteen bytes a step where
 * the CPU has SSE2 (every x86-64), a byte a step elsewhere. */
static const char *field_end(const char *p, const char *e) {
#if defined(__SSE2__)
    const __m128i comma = _mm_set1_epi8(','), nl = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), quote = _mm_set1_epi8('"');
    for (; p + 16 <= e; p += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, nl)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, quote)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask) return p + __builtin_ctz(mask);
    }
#endif
    while (p < e && *p != ',' && *p != '\n' && *p != '\r' && *p != '"') p++;
    return p;
}

/* Read the record at *at into row `row`, leaving *at at the next record:
 * 1, or 0 if it is not of the plain form, -1 if memory ran out. */
static int parse_record(const char *buf, const char *e, const char **at,
                        const signed char *column, int n_fields, iom_csv_part *part,
                        const iom_csv_rows *out, int64_t row) {
    const char *p = *at;
    for (int f = 0; f < n_fields; f++) {
        const char *s, *t, *after;
        if (p < e && *p == '"') { /* a quoted field: no quote or line end inside */
            s = t = p + 1;
            while (t < e && *t != '"' && *t != '\n' && *t != '\r') t++;
            if (t >= e || *t != '"') return 0;
            after = t + 1;
        } else {
            s = p;
            t = field_end(p, e);
            if (t < e && *t == '"') return 0;
            after = t;
        }
        if (f < n_fields - 1) {
            if (after >= e || *after != ',') return 0;
            p = after + 1;
        } else if (after == e) {
            p = e;
        } else if (*after == '\n') {
            p = after + 1;
        } else if (*after == '\r' && after + 1 < e && after[1] == '\n') {
            p = after + 2;
        } else {
            return 0;
        }
        switch (column[f]) {
        case IOM_CSV_EVENT_ID:
            if (!parse_id(s, t, &out->event_id[row])) return 0;
            break;
        case IOM_CSV_NOMINAL_ID:
            if (!parse_id(s, t, &out->nominal_id[row])) return 0;
            break;
        case IOM_CSV_DATE:
            if (!parse_date(s, t, &out->day[row])) return 0;
            break;
        case IOM_CSV_DATASET:
        case IOM_CSV_OFFENCE: {
            int which = column[f] - IOM_CSV_DATASET;
            int64_t v = word_index(&part->words[which], buf, s - buf, t - s, part->end);
            if (v < 0) return v == -2 ? -1 : 0;
            (which ? out->offence : out->dataset)[row] = (int32_t)v;
            break;
        }
        default:
            break;
        }
    }
    *at = p;
    return 1;
}

static void *parse_part(void *arg) {
    parse_job *job = arg;
    iom_csv_part *part = job->part;
    const char *buf = job->buf, *p = buf + part->begin, *e = buf + part->end;
    signed char column[IOM_CSV_MAX_FIELDS];
    memset(column, -1, sizeof column);
    for (int k = 0; k < IOM_CSV_COLUMNS; k++) column[job->layout->field[k]] = (signed char)k;
    int64_t row = part->first_row, last = part->first_row + part->lines;
    for (; p < e; row++) {
        const char *record = p;
        int ok = row < last ? parse_record(buf, e, &p, column, job->layout->n_fields, part,
                                           job->rows, row)
                            : 0;
        if (ok < 0) {
            part->rc = IOM_ENOMEM;
            return NULL;
        }
        if (!ok || p - record > IOM_CSV_MAX_LINE) {
            part->fault = record - buf;
            return NULL;
        }
    }
    if (row != last) part->fault = part->end;
    return NULL;
}

int iom_csv_parse(const char *buf, const iom_csv_layout *layout, int parts, iom_csv_part *part,
                  const iom_csv_rows *rows) {
    parse_job jobs[2] = {{buf, layout, &part[0], rows}, {buf, layout, &part[1], rows}};
    run_pair(parse_part, &jobs[0], &jobs[1], parts > 1 && part[1].end > part[1].begin);
    return part[0].rc != IOM_OK ? part[0].rc : part[1].rc;
}

/* ---- the ids seen -------------------------------------------------------------------- */

/* A table of at least n / 0.6 slots (a power of 2), zeroed by the kernel
 * (calloc): keys are stored plus one, so 0 marks an empty slot. */
static int64_t table_slots(int64_t n) {
    int64_t cap = 64;
    while (cap * 3 < n * 5) cap *= 2;
    return cap;
}

/* Ids are marked in pages of a bitmap, each page 2**18 ids (32 KiB), made as
 * ids reach them: ids of a sequence (as most exports have) take a bit each and
 * a few pages. When the pages would take more than a hash table of the ids
 * (16 bytes an id, and 1 MiB at least), the ids move to the hash table. */
#define IOM_PAGE_SHIFT 18
#define IOM_PAGE_WORDS ((int64_t)1 << (IOM_PAGE_SHIFT - 6))
#define IOM_PAGES_MIN_BYTES ((int64_t)1 << 20)

static int dir_grow(iom_idset *s) {
    int64_t cap = s->dir_cap ? s->dir_cap * 2 : 64;
    int64_t *key = calloc((size_t)cap, sizeof *key);
    uint64_t **page = calloc((size_t)cap, sizeof *page);
    if (!key || !page) {
        free(key);
        free(page);
        return IOM_ENOMEM;
    }
    for (int64_t i = 0; i < s->dir_cap; i++) {
        if (!s->dir_key[i]) continue;
        uint64_t h = iom_mix(s->dir_key[i]) & (uint64_t)(cap - 1);
        while (key[h]) h = (h + 1) & (uint64_t)(cap - 1);
        key[h] = s->dir_key[i];
        page[h] = s->dir_page[i];
    }
    free(s->dir_key);
    free(s->dir_page);
    s->dir_key = key;
    s->dir_page = page;
    s->dir_cap = cap;
    return IOM_OK;
}

/* Pages whose numbers lie in a window of this many are found by their number,
 * without the directory's hash: the window (32 KiB of pointers) covers 2**30
 * ids around the first id met. */
#define IOM_NEAR_PAGES ((int64_t)4096)

static uint64_t **near_slot(const iom_idset *s, int64_t key) {
    uint64_t at = (uint64_t)(key - s->near_base);
    return s->near && at < (uint64_t)IOM_NEAR_PAGES ? &s->near[at] : NULL;
}

/* The page holding id (made if new), or NULL if memory ran out. */
static uint64_t *page_of(iom_idset *s, int64_t id) {
    int64_t key = (id >> IOM_PAGE_SHIFT) + 1;
    uint64_t **near = near_slot(s, key);
    if (near && *near) return *near;
    if (!s->near) {
        s->near = calloc((size_t)IOM_NEAR_PAGES, sizeof *s->near);
        if (!s->near) return NULL;
        s->near_base = key > IOM_NEAR_PAGES / 2 ? key - IOM_NEAR_PAGES / 2 : 0;
        near = near_slot(s, key);
    }
    if (2 * (s->pages + 1) > s->dir_cap && dir_grow(s) != IOM_OK) return NULL;
    uint64_t mask = (uint64_t)s->dir_cap - 1, h = iom_mix(key) & mask;
    while (s->dir_key[h] && s->dir_key[h] != key) h = (h + 1) & mask;
    if (!s->dir_key[h]) {
        uint64_t *page = calloc((size_t)IOM_PAGE_WORDS, sizeof *page);
        if (!page) return NULL;
        s->dir_key[h] = key;
        s->dir_page[h] = page;
        s->pages++;
    }
    if (near) *near = s->dir_page[h];
    return s->dir_page[h];
}

static int hash_grow(iom_idset *s, int64_t cap) {
    void *raw;
    uint64_t *keys = iom_alloc_lines((size_t)cap * sizeof *keys, &raw);
    if (!keys) return IOM_ENOMEM;
    const uint64_t mask = (uint64_t)cap - 1;
    for (int64_t i = 0; i < s->cap; i++) {
        uint64_t key = s->keys[i];
        if (!key) continue;
        uint64_t h = iom_mix((int64_t)(key - 1)) & mask;
        while (keys[h]) h = (h + 1) & mask;
        keys[h] = key;
    }
    free(s->keys_raw);
    s->keys_raw = raw;
    s->keys = keys;
    s->cap = cap;
    return IOM_OK;
}

/* Put id in the hash table: 1 if it was there already. */
static int hash_put(iom_idset *s, int64_t id) {
    const uint64_t mask = (uint64_t)s->cap - 1, key = (uint64_t)id + 1;
    for (uint64_t h = iom_mix(id) & mask;; h = (h + 1) & mask) {
        if (s->keys[h] == key) return 1;
        if (!s->keys[h]) {
            s->keys[h] = key;
            return 0;
        }
    }
}

/* Move the ids from the pages to a hash table. */
static int to_hash(iom_idset *s, int64_t more) {
    if (hash_grow(s, table_slots(s->count + more)) != IOM_OK) return IOM_ENOMEM;
    for (int64_t i = 0; i < s->dir_cap; i++) {
        if (!s->dir_key[i]) continue;
        const uint64_t *page = s->dir_page[i];
        int64_t base = (s->dir_key[i] - 1) << IOM_PAGE_SHIFT;
        for (int64_t w = 0; w < IOM_PAGE_WORDS; w++)
            for (uint64_t bits = page[w]; bits; bits &= bits - 1)
                hash_put(s, base + w * 64 + __builtin_ctzll(bits));
        free(s->dir_page[i]);
    }
    free(s->dir_key);
    free(s->dir_page);
    free(s->near);
    s->dir_key = NULL;
    s->dir_page = NULL;
    s->near = NULL;
    s->dir_cap = s->pages = 0;
    s->hashed = 1;
    return IOM_OK;
}

int iom_idset_add(iom_idset *s, int64_t n, const int64_t *ids, int64_t *repeat) {
    *repeat = -1;
    int64_t i = 0;
    while (i < n && !s->hashed) {
        /* Pages while they cost at most 16 bytes an id of the set as it will be
         * (a file's first batch spreads over every page the file will fill), and
         * at most 4 KiB an id held so far (ids that make a page each, early). */
        int64_t bytes = (s->pages + 1) * IOM_PAGE_WORDS * 8;
        int64_t held = s->count + (n - i), planned = held > s->expected ? held : s->expected;
        if (bytes > IOM_PAGES_MIN_BYTES && (bytes > 16 * planned || bytes > 4096 * held)) {
            if (to_hash(s, n - i) != IOM_OK) return IOM_ENOMEM;
            break;
        }
        /* mark ids until a new page would be needed past the budget check */
        int64_t before = s->pages;
        for (; i < n && s->pages == before; i++) {
            if (i + IOM_TABLE_AHEAD < n) { /* the word of a near page, ahead */
                int64_t next = ids[i + IOM_TABLE_AHEAD];
                uint64_t **ahead = near_slot(s, (next >> IOM_PAGE_SHIFT) + 1);
                if (ahead && *ahead)
                    IOM_PREFETCH(&(*ahead)[(next & ((1 << IOM_PAGE_SHIFT) - 1)) >> 6]);
            }
            uint64_t *page = page_of(s, ids[i]);
            if (!page) return IOM_ENOMEM;
            uint64_t at = (uint64_t)ids[i] & ((1u << IOM_PAGE_SHIFT) - 1), bit = 1ull << (at & 63);
            if (page[at >> 6] & bit) {
                *repeat = i;
                return IOM_OK;
            }
            page[at >> 6] |= bit;
            s->count++;
        }
    }
    if (i < n && table_slots(s->count + (n - i)) > s->cap &&
        hash_grow(s, table_slots(s->count + (n - i))) != IOM_OK)
        return IOM_ENOMEM;
    const uint64_t mask = (uint64_t)s->cap - 1;
    for (; i < n; i++) {
        if (i + IOM_TABLE_AHEAD < n) IOM_PREFETCH(&s->keys[iom_mix(ids[i + IOM_TABLE_AHEAD]) & mask]);
        if (hash_put(s, ids[i])) {
            *repeat = i;
            return IOM_OK;
        }
        s->count++;
    }
    return IOM_OK;
}

void iom_idset_free(iom_idset *s) {
    for (int64_t i = 0; i < s->dir_cap; i++) free(s->dir_page[i]);
    free(s->dir_key);
    free(s->dir_page);
    free(s->near);
    free(s->keys_raw);
    memset(s, 0, sizeof *s);
}

int iom_first_repeat(int64_t n, const int64_t *ids, int64_t *repeat) {
    iom_idset s;
    memset(&s, 0, sizeof s);
    int rc = iom_idset_add(&s, n, ids, repeat);
    iom_idset_free(&s);
    return rc;
}

/* ---- sums by nominal ----------------------------------------------------------------- */

static int table_grow(iom_sum_table *m, int64_t cap) {
    void *raw;
    uint64_t *slots = iom_alloc_lines((size_t)cap * 2 * sizeof *slots, &raw);
    if (!slots) return IOM_ENOMEM;
    const uint64_t mask = (uint64_t)cap - 1;
    const uint64_t *old = (const uint64_t *)m->slots;
    for (int64_t i = 0; i < m->cap; i++) {
        uint64_t key = old[2 * i];
        if (!key) continue;
        uint64_t h = iom_mix((int64_t)(key - 1)) & mask;
        while (slots[2 * h]) h = (h + 1) & mask;
        slots[2 * h] = key;
        slots[2 * h + 1] = old[2 * i + 1];
    }
    free(m->raw);
    m->raw = raw;
    m->slots = (int64_t *)slots;
    m->cap = cap;
    return IOM_OK;
}

typedef struct {
    const int64_t *nominal_id;
    const int32_t *day;
    int32_t low, high;
    iom_sum_table *table;
    iom_day_counts counts;
    int64_t bad; /* a row whose index lies outside its table */
} sums_job;

/* Each counting row's hash is taken once, IOM_TABLE_AHEAD rows ahead (when its
 * slot is prefetched), and kept in a ring until the row. */
#define IOM_RING 32

static int sum_part(sums_job *job, const iom_points_part *part) {
    const int32_t *dataset = part->dataset, *offence = part->offence, *day = job->day;
    const int64_t *points = part->points, stride = part->stride, *nominal_id = job->nominal_id;
    const int32_t low = job->low, high = job->high;
    iom_sum_table *m = job->table;
    uint64_t ring[IOM_RING];
    int64_t end = part->first + part->n;
    for (int64_t j = part->first; j < end && j < part->first + IOM_TABLE_AHEAD; j++)
        ring[j & (IOM_RING - 1)] = iom_mix(nominal_id[j]);
    for (int64_t i = part->first; i < end; i++) {
        int64_t ahead = i + IOM_TABLE_AHEAD;
        if (ahead < end) {
            uint64_t h = iom_mix(nominal_id[ahead]);
            ring[ahead & (IOM_RING - 1)] = h;
            IOM_PREFETCH(&m->slots[2 * (h & (uint64_t)(m->cap - 1))]);
        }
        int32_t d = day[i];
        if (d <= low || d > high) {
            job->counts.before += d <= low;
            job->counts.after += d > high;
            continue;
        }
        job->counts.taken++;
        if ((uint64_t)(uint32_t)dataset[i] >= (uint64_t)part->n_datasets ||
            (uint64_t)(uint32_t)offence[i] >= (uint64_t)stride) {
            job->bad = i;
            return IOM_EINDEX;
        }
        if (2 * (m->count + 1) > m->cap && table_grow(m, m->cap * 2) != IOM_OK) return IOM_ENOMEM;
        const uint64_t mask = (uint64_t)m->cap - 1;
        uint64_t *slots = (uint64_t *)m->slots;
        uint64_t key = (uint64_t)nominal_id[i] + 1;
        uint64_t h = ring[i & (IOM_RING - 1)] & mask;
        while (slots[2 * h] != key && slots[2 * h] != 0) h = (h + 1) & mask;
        if (!slots[2 * h]) {
            slots[2 * h] = key;
            m->count++;
        }
        int64_t sum = (int64_t)slots[2 * h + 1];
        if (__builtin_add_overflow(sum, points[dataset[i] * stride + offence[i]], &sum))
            return IOM_EOVERFLOW;
        slots[2 * h + 1] = (uint64_t)sum;
    }
    return IOM_OK;
}

typedef struct {
    iom_idset *ids;
    int64_t n;
    const int64_t *event_id;
    int64_t repeat;
    int rc;
} ids_job;

static void *mark_ids(void *arg) {
    ids_job *job = arg;
    job->rc = iom_idset_add(job->ids, job->n, job->event_id, &job->repeat);
    return NULL;
}

int iom_oneshot_add(iom_oneshot *s, int64_t n, const int64_t *event_id, const int64_t *nominal_id,
                    const int32_t *day, int parts, const iom_points_part *part, int32_t low,
                    int32_t high, int threads, int64_t *repeat) {
    ids_job ids = {&s->ids, n, event_id, -1, IOM_OK};
    iom_helper h;
    if (threads > 1 && n >= IOM_SPLIT_ROWS) {
        iom_helper_start(&h, mark_ids, &ids);
    } else {
        iom_helper_here(&h, mark_ids, &ids);
    }
    sums_job sums = {nominal_id, day, low, high, &s->sums, {0, 0, 0}, -1};
    int rc = s->sums.cap ? IOM_OK : table_grow(&s->sums, (int64_t)1 << 16);
    for (int k = 0; k < parts && rc == IOM_OK; k++) rc = sum_part(&sums, &part[k]);
    iom_helper_finish(&h);
    s->counts.taken += sums.counts.taken;
    s->counts.before += sums.counts.before;
    s->counts.after += sums.counts.after;
    *repeat = rc == IOM_EINDEX ? sums.bad : ids.repeat;
    return rc != IOM_OK ? rc : ids.rc;
}

int64_t iom_oneshot_count(const iom_oneshot *s) { return s->sums.count; }

void iom_oneshot_items(const iom_oneshot *s, int64_t *ids, int64_t *points) {
    const uint64_t *slots = (const uint64_t *)s->sums.slots;
    int64_t j = 0;
    for (int64_t i = 0; i < s->sums.cap; i++) {
        if (!slots[2 * i]) continue;
        ids[j] = (int64_t)(slots[2 * i] - 1);
        points[j++] = (int64_t)slots[2 * i + 1];
    }
}

void iom_oneshot_free(iom_oneshot *s) {
    iom_idset_free(&s->ids);
    free(s->sums.raw);
    memset(s, 0, sizeof *s);
}
