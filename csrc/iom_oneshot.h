/*
 * iom_oneshot: scoring a batch once, with no store (what `iomscore score`
 * needs): no event-id index, no day lists, no band reports.
 *
 * Three parts, each with one job:
 *   - the reader of a plain CSV export (iom_csv_count, iom_csv_parse): ids,
 *     dates and the text of two columns, straight from the file's bytes;
 *   - the set of event ids seen (iom_idset), to find the first id repeated;
 *   - the points of the counting events summed by nominal (iom_sums).
 *
 * The reader takes only the plain form of the file and reports anything else
 * as a fault (the byte where it stopped); the caller then reads the file the
 * general way, which names the line and field at fault. So the reader never
 * decides what a value means where the general loader would decide otherwise:
 * it only accepts less.
 */
#ifndef IOM_ONESHOT_H
#define IOM_ONESHOT_H

#include <stdint.h>

/* The five columns of an events file, in the order of the reader's outputs. */
#define IOM_CSV_EVENT_ID 0
#define IOM_CSV_NOMINAL_ID 1
#define IOM_CSV_DATASET 2
#define IOM_CSV_OFFENCE 3
#define IOM_CSV_DATE 4
#define IOM_CSV_COLUMNS 5

/* Most fields a record may have, and most distinct values a text column may
 * hold in one part of the file (more are a fault: the general reader takes
 * them). */
#define IOM_CSV_MAX_FIELDS 256
#define IOM_CSV_MAX_WORDS 65536
/* Most bytes a record may take: pyarrow's reader (the general one) refuses a
 * record longer than its block of 1 MiB, so the plain reader does too. */
#define IOM_CSV_MAX_LINE ((int64_t)1 << 20)

/* Most bytes the distinct values of one column may take in all (more are a
 * fault, as too many words are). */
#define IOM_CSV_MAX_WORD_BYTES ((int64_t)64 << 20)

/* A slot of a words' hash table: 32 bytes, so a lookup reads one cache line. */
typedef struct {
    uint64_t head[2]; /* the value's first 16 bytes, zero-padded */
    uint64_t hash;
    int32_t len;
    int32_t value;    /* value index + 1; 0: an empty slot */
} iom_word_slot;

/* The distinct values of a text column in one part: each the bytes
 * bytes[start, start + len), a copy of the value's first occurrence (so a
 * file read a buffer at a time can reuse its buffer). */
typedef struct {
    int64_t count;
    int64_t cap;     /* slots of the hash table, a power of 2 */
    iom_word_slot *slot;
    char *bytes;     /* the values, one after another */
    int64_t used, room; /* bytes of `bytes` used and allocated */
    int64_t *start;  /* by value, into bytes */
    int32_t *len;    /* by value */
} iom_words;

/* One part of a file: whole lines buf[begin, end), and where its records go. */
typedef struct {
    int64_t begin, end;
    int64_t lines;     /* records it holds (iom_csv_count) */
    int64_t first_row; /* the row number of its first record */
    iom_words words[2]; /* dataset, offence */
    int64_t fault;     /* byte offset of the first thing not of the plain form, or -1 */
    int rc;            /* IOM_OK, IOM_ENOMEM */
} iom_csv_part;

/* The file's shape: fields per record and the field holding each column. */
typedef struct {
    int n_fields;
    int field[IOM_CSV_COLUMNS];
} iom_csv_layout;

/* The reader's outputs, row by row. dataset and offence are indices into the
 * words of the part the row is in. */
typedef struct {
    int64_t *event_id;
    int64_t *nominal_id;
    int32_t *dataset;
    int32_t *offence;
    int32_t *day;      /* days since 1970-01-01 */
} iom_csv_rows;

/* Split buf[begin, end) into `parts` (1 or 2) parts of whole lines and count
 * each part's lines, in parallel. Returns 1 if every byte is ASCII (below
 * 0x80), else 0 (the reader then takes no part of the file). A file is read a
 * chunk at a time with the same two parts: each part's words stay from one
 * chunk to the next (zero the parts once, before the first chunk). */
int iom_csv_count(const char *buf, int64_t begin, int64_t end, int parts, iom_csv_part *out);

/* Read each part's records into rows (part k from its first_row), in
 * parallel. Returns IOM_OK, or IOM_ENOMEM; a part that meets a record not of
 * the plain form sets its fault and stops. */
int iom_csv_parse(const char *buf, const iom_csv_layout *layout, int parts, iom_csv_part *part,
                  const iom_csv_rows *rows);

void iom_csv_part_free(iom_csv_part *part);

/* The words of a text column held as Arrow does (the bytes of row i are
 * data[offsets[i], offsets[i + 1]), offsets of 4 bytes, or 8 if wide): each
 * row's index into the distinct words, in the order met, into out[n]. Returns
 * IOM_OK, IOM_ENOMEM, IOM_ETOOMANY past IOM_CSV_MAX_WORDS distinct words (or
 * IOM_CSV_MAX_WORD_BYTES of them) or
 * for a word over IOM_CSV_MAX_LINE bytes, or IOM_EINDEX for offsets that go
 * back or past the data. */
int iom_intern(const char *data, const void *offsets, int wide, int64_t n, iom_words *words,
               int32_t *out);
void iom_words_free(iom_words *words);

/* The ids seen (each >= 0): pages of a bitmap while the ids are dense, a hash
 * table once they are not (see iom_oneshot.c). Zeroed to start. */
typedef struct {
    int64_t *dir_key;    /* page number + 1 by directory slot; 0: empty */
    uint64_t **dir_page; /* by directory slot */
    int64_t dir_cap, pages;
    uint64_t **near;     /* the pages of a window of page numbers, by number - near_base */
    int64_t near_base;   /* (a cache of the directory: most ids of a file are near) */
    uint64_t *keys;      /* the hash table: id + 1; 0: empty */
    void *keys_raw;
    int64_t cap;
    int64_t count;       /* ids held */
    int64_t expected;    /* ids the caller means to add in all, if known (else 0) */
    int hashed;
} iom_idset;

/* Add ids[0, n): *repeat is the first index whose id was held already (by an
 * earlier call or an earlier index), -1 if none; the ids after it are not
 * added. Returns IOM_OK or IOM_ENOMEM. */
int iom_idset_add(iom_idset *s, int64_t n, const int64_t *ids, int64_t *repeat);
void iom_idset_free(iom_idset *s);

/* The first row whose id an earlier row has (-1 if none; each id >= 0), into
 * *repeat. Returns IOM_OK or IOM_ENOMEM. */
int iom_first_repeat(int64_t n, const int64_t *ids, int64_t *repeat);

/* The points of counting events by nominal (each id >= 0). */
typedef struct {
    int64_t *slots; /* key + 1, sum pairs; key 0: empty */
    void *raw;      /* what to free */
    int64_t cap;
    int64_t count;
} iom_sum_table;

/* What a batch's rows are, by date: counting (in the window), before the
 * window, after as_of. */
typedef struct {
    int64_t taken;
    int64_t before;
    int64_t after;
} iom_day_counts;

/* One part of the rows for iom_oneshot_add: the points of a row are
 * points[dataset * stride + offence], its indices into the part's own words. */
typedef struct {
    int64_t first, n;
    const int32_t *dataset;
    const int32_t *offence;
    const int64_t *points;
    int64_t stride;      /* offences in the table (the offence indices lie below it) */
    int64_t n_datasets;  /* rows of the table */
} iom_points_part;

/* A score taken once, a batch of rows at a time: the event ids seen, the sums
 * by nominal and the rows by date. Zeroed to start. */
typedef struct {
    iom_idset ids;
    iom_sum_table sums;
    iom_day_counts counts;
} iom_oneshot;

/* Add n rows: *repeat is the first row whose event id was seen before (-1 if
 * none: the sums are then not to be used), and the rows dated in (low, high]
 * are summed by nominal. With threads > 1 the helper thread marks the ids
 * while the calling thread sums. Returns
 * IOM_OK, IOM_ENOMEM, IOM_EOVERFLOW (a sum past the int64 range) or
 * IOM_EINDEX (a dataset or offence index outside its table; its row in
 * *repeat). */
int iom_oneshot_add(iom_oneshot *s, int64_t n, const int64_t *event_id, const int64_t *nominal_id,
                    const int32_t *day, int parts, const iom_points_part *part, int32_t low,
                    int32_t high, int threads, int64_t *repeat);

/* How many nominals have a sum. */
int64_t iom_oneshot_count(const iom_oneshot *s);
/* The nominals and their points, in table order, into ids[count], points[count]. */
void iom_oneshot_items(const iom_oneshot *s, int64_t *ids, int64_t *points);
void iom_oneshot_free(iom_oneshot *s);

#endif
