/* ingest.c — see ingest.h. Reads everything small into memory, then streams the matrix into the writer. */
#include "ingest/ingest.h"

#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad.h"

typedef struct loaded {
  cg_frame *obs, *var;
  cg_embedding *emb;
  int n_emb;
  cg_uns *uns;
  cg_h5ad_matrix *mat;
  cg_bundle_embedding *bemb;
  cg_bundle_colors *bcol;
} loaded;

static void loaded_dispose(loaded *l) {
  cg_frame_free(l->obs);
  cg_frame_free(l->var);
  cg_embeddings_free(l->emb, l->n_emb);
  cg_uns_free(l->uns);
  cg_h5ad_matrix_close(l->mat);
  cg_free(l->bemb);
  cg_free(l->bcol);
}

static int read_block(void *ctx, int64_t first, int64_t count, cg_sparse_block *blk, cg_err *err) {
  return cg_h5ad_matrix_read_block(ctx, first, count, blk, err);
}

/* The var frame that goes with the chosen matrix: raw/var for "raw", var otherwise. */
static int load_parts(cg_h5ad *h, const char *which, loaded *l, cg_err *err) {
  int rc = cg_h5ad_matrix_open(h, which, &l->mat, err);
  if (rc) return rc;
  cg_h5ad_matrix_sort_lines(l->mat, 1); /* scipy and anndata accept unsorted indices; the bundle stores sorted */
  int raw = strcmp(which, "raw") == 0;
  if ((rc = cg_h5ad_read_frame(h, CG_AXIS_OBS, 0, &l->obs, err))) return rc;
  if ((rc = cg_h5ad_read_frame(h, CG_AXIS_VAR, raw, &l->var, err))) return rc;
  if ((rc = cg_h5ad_read_embeddings(h, &l->emb, &l->n_emb, err))) return rc;
  return cg_h5ad_read_uns(h, &l->uns, err);
}

static int to_bundle_lists(loaded *l, cg_bundle_input *in) {
  l->bemb = cg_calloc((size_t)l->n_emb + 1, sizeof *l->bemb);
  l->bcol = cg_calloc((size_t)l->uns->n_colors + 1, sizeof *l->bcol);
  if (!l->bemb || !l->bcol) return CG_ENOMEM;
  for (int i = 0; i < l->n_emb; i++)
    l->bemb[i] = (cg_bundle_embedding){l->emb[i].name, l->emb[i].dims, l->emb[i].xy};
  for (int i = 0; i < l->uns->n_colors; i++) {
    const cg_colors *c = &l->uns->colors[i];
    l->bcol[i] = (cg_bundle_colors){c->column, (const char *const *)c->colors, c->n};
  }
  in->emb = l->bemb;
  in->n_emb = l->n_emb;
  in->colors = l->bcol;
  in->n_colors = l->uns->n_colors;
  return 0;
}

static void fill_input(loaded *l, const cg_ingest_opts *o, const char *which, cg_bundle_input *in) {
  const cg_matrix_info *mi = cg_h5ad_matrix_info(l->mat);
  in->n_obs = l->obs->n_rows;
  in->n_vars = l->var->n_rows;
  in->obs = l->obs;
  in->var = l->var;
  in->title = l->uns->title;
  in->default_embedding = l->uns->default_embedding;
  if (mi->format != CG_MAT_ABSENT) {
    in->matrix_name = which;
    in->source_dtype = mi->dtype;
    in->major_axis = cg_h5ad_matrix_major(l->mat) == CG_AXIS_VAR;
    in->nnz = mi->nnz;
    in->read_block = read_block;
    in->ctx = l->mat;
  }
  in->progress = o->progress;
  in->progress_ctx = o->progress_ctx;
}

static void pass_warnings(const cg_h5ad *h, const cg_ingest_opts *o) {
  if (!o->on_warning) return;
  for (int i = 0; i < cg_h5ad_n_warnings(h); i++) o->on_warning(o->warning_ctx, cg_h5ad_warning(h, i));
}

int cg_ingest_run(const char *in_path, const char *out_path, const cg_ingest_opts *opts, cg_ingest_report *report,
                  cg_err *err) {
  static const cg_ingest_opts defaults = {0};
  const cg_ingest_opts *o = opts ? opts : &defaults;
  const char *which = o->matrix ? o->matrix : "X";
  cg_h5ad *h = NULL;
  loaded l = {0};
  cg_bundle_input in = {0};
  int rc = cg_h5ad_open(in_path, &h, err);
  if (rc) goto done;
  if ((rc = load_parts(h, which, &l, err))) goto done;
  if ((rc = to_bundle_lists(&l, &in))) {
    cg_err_set(err, rc, "%s: out of memory", in_path);
    goto done;
  }
  fill_input(&l, o, which, &in);
  pass_warnings(h, o);
  if ((rc = cg_bundle_write(&in, out_path, err))) goto done;
  if (report) {
    memset(report, 0, sizeof *report);
    report->n_obs = in.n_obs;
    report->n_vars = in.n_vars;
    report->nnz_in = in.nnz;
    report->n_embeddings = in.n_emb;
    if (in.matrix_name) snprintf(report->matrix, sizeof report->matrix, "%s", in.matrix_name);
  }
done:
  loaded_dispose(&l);
  cg_h5ad_close(h);
  return rc;
}
