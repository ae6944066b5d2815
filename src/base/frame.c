#include "base/frame.h"

#include <string.h>

#include "base/mem.h"

static void free_strings(char **s, int64_t n) {
  if (!s) return;
  for (int64_t i = 0; i < n; i++) cg_free(s[i]);
  cg_free(s);
}

void cg_column_dispose(cg_column *c) {
  if (!c) return;
  if (c->type == CG_COL_STRING)
    free_strings(c->v.str, c->n);
  else
    cg_free(c->v.codes); /* any union member: all plain arrays */
  free_strings(c->categories, c->n_categories);
  cg_free(c->valid);
  cg_free(c->name);
  memset(c, 0, sizeof *c);
}

void cg_frame_free(cg_frame *f) {
  if (!f) return;
  for (int i = 0; i < f->n_cols; i++) cg_column_dispose(&f->cols[i]);
  cg_free(f->cols);
  free_strings(f->index, f->n_rows);
  cg_free(f->index_name);
  cg_free(f);
}

const char *cg_coltype_name(cg_coltype t) {
  switch (t) {
  case CG_COL_CATEGORICAL: return "categorical";
  case CG_COL_FLOAT: return "float";
  case CG_COL_INT: return "int";
  case CG_COL_BOOL: return "bool";
  case CG_COL_STRING: return "string";
  }
  return "unknown";
}

int cg_frame_find(const cg_frame *f, const char *name) {
  for (int i = 0; i < f->n_cols; i++)
    if (strcmp(f->cols[i].name, name) == 0) return i;
  return -1;
}
