/* frame.h — an in-memory data frame of typed columns: the shape in which obs/var annotations travel from a
 * reader (h5ad/) to a writer (bundle/). Plain data: the frame owns every pointer inside it and
 * cg_frame_free releases all of it.
 *
 * Column model (what every AnnData column type maps to)
 *  - CG_COL_CATEGORICAL: codes (int32, -1 = missing) into categories (UTF-8 strings). Numeric categories are
 *    kept as their Python str() text ("1", "2.5", "True") and cat_dtype says what they were ("int64", ...).
 *  - CG_COL_FLOAT: double values, NaN = missing (any float width in the source).
 *  - CG_COL_INT:   int64 values (any integer width in the source, signed or unsigned).
 *  - CG_COL_BOOL:  uint8 0/1.
 *  - CG_COL_STRING: UTF-8 strings (NULL entry = missing).
 *  Nullable arrays (anndata nullable-integer/-boolean/-string-array) set `valid`: n bytes, 0 = missing; the
 *  value at a missing position is 0 / false / NULL. valid == NULL means every value is present.
 *  `dtype` is the dtype name pandas/anndata reports for the column ("category", "float32", "int64", "bool",
 *  "object", "Int64", "boolean", "string"), kept so inspect output can be compared with python-anndata.
 */
#ifndef CG_BASE_FRAME_H
#define CG_BASE_FRAME_H

#include <stdint.h>

typedef enum {
  CG_COL_CATEGORICAL = 1,
  CG_COL_FLOAT = 2,
  CG_COL_INT = 3,
  CG_COL_BOOL = 4,
  CG_COL_STRING = 5,
} cg_coltype;

typedef struct cg_column {
  char *name;
  cg_coltype type;
  char dtype[24];
  int64_t n;
  union {
    int32_t *codes;  /* CATEGORICAL */
    double *f64;     /* FLOAT */
    int64_t *i64;    /* INT */
    uint8_t *b;      /* BOOL */
    char **str;      /* STRING */
  } v;
  uint8_t *valid;    /* NULL or n bytes, 0 = missing */
  char **categories; /* CATEGORICAL only */
  int32_t n_categories;
  int ordered;          /* CATEGORICAL: ordered categorical */
  char cat_dtype[24];   /* CATEGORICAL: dtype of the categories ("object" for strings, "int64", ...) */
} cg_column;

typedef struct cg_frame {
  int64_t n_rows;
  char *index_name; /* the index column's name in the file ("_index", "index", "obs_names", ...) or NULL */
  char **index;     /* n_rows UTF-8 row names */
  cg_column *cols;
  int n_cols;
} cg_frame;

/* Releases everything a frame owns, then the frame itself; NULL is a no-op. */
void cg_frame_free(cg_frame *f);

/* Releases a column's contents (not the struct itself: columns live in the frame's array). */
void cg_column_dispose(cg_column *c);

/* Name of a column type ("categorical", "float", "int", "bool", "string"). */
const char *cg_coltype_name(cg_coltype t);

/* Index of the column called name, or -1. */
int cg_frame_find(const cg_frame *f, const char *name);

#endif
