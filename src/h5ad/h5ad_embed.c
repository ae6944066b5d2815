/* h5ad_embed.c — obsm entries as 2-D embeddings (the first two dimensions, as float32).
 *
 * Design notes
 *  1. obsm is a group (0.7, >= 0.8; children in name order) or a legacy compound dataset (fields in order,
 *     each an array field such as "X_pca": float32[50]).
 *  2. An entry is an embedding when it is a numeric 2-D array (or array field) with n_obs rows and >= 2
 *     columns. Groups (dataframes, sparse matrices), 1-D arrays, strings and 1-column arrays are skipped
 *     with a warning.
 *  3. Only the first two columns are read (one hyperslab, HDF5 converts any int/float type to float32).
 *     A wrong row count, a +-Inf (also a float64 beyond float32's range, which converts to Inf) or an
 *     embedding whose values are all NaN is CG_EFORMAT naming the path; single NaNs are kept.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

typedef struct {
  cg_embedding *e;
  int n, cap;
} emb_list;

void cg_embeddings_free(cg_embedding *e, int n) {
  if (!e) return;
  for (int i = 0; i < n; i++) cg_free(e[i].name), cg_free(e[i].xy);
  cg_free(e);
}

static int embedding_check(const cg_embedding *e, const char *path, cg_err *err) {
  int64_t nan = 0;
  for (int64_t i = 0; i < e->n_rows * 2; i++) {
    if (isinf(e->xy[i]))
      return cg_err_set(err, CG_EFORMAT, "%s: row %lld, dimension %lld: %s (or beyond float32 range)", path,
                        (long long)(i / 2), (long long)(i % 2), e->xy[i] > 0 ? "+Inf" : "-Inf");
    nan += isnan(e->xy[i]) != 0;
  }
  if (e->n_rows > 0 && nan == e->n_rows * 2) return cg_err_set(err, CG_EFORMAT, "%s: every value is NaN", path);
  return 0;
}

static int push(emb_list *l, const char *name, float *xy, int64_t rows, int dims, const char *path, cg_err *err) {
  cg_embedding e = {cg_strdup(name), rows, dims, xy};
  int rc = e.name ? embedding_check(&e, path, err) : cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  if (rc == 0 && l->n == l->cap) {
    int nc = l->cap ? l->cap * 2 : 8;
    cg_embedding *p = cg_realloc(l->e, (size_t)nc * sizeof *p);
    if (!p) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
    else l->e = p, l->cap = nc;
  }
  if (rc) return cg_free(e.name), cg_free(xy), rc;
  l->e[l->n++] = e;
  return 0;
}

static int read_dataset(cg_h5ad *h, hid_t d, const char *name, const char *path, emb_list *l, cg_err *err) {
  hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
  H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
  hsize_t dims[2] = {0, 0};
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1, rc = 0;
  if (rank == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
  if (t >= 0) H5Tclose(t);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
    cg__warn(h, "skipped obsm entry %s: not numeric", path);
  } else if (rank != 2) {
    cg__warn(h, "skipped obsm entry %s: %d-D, not a 2-D embedding", path, rank);
  } else if ((int64_t)dims[0] != h->n_obs) {
    rc = cg_err_set(err, CG_EFORMAT, "%s: %lld rows, expected n_obs = %lld", path, (long long)dims[0],
                    (long long)h->n_obs);
  } else if (dims[1] < 2) {
    cg__warn(h, "skipped obsm entry %s: 1 column, an embedding needs 2", path);
  } else {
    float *xy = cg_malloc_array((size_t)(dims[0] ? dims[0] : 1), 2 * sizeof(float));
    hsize_t start[2] = {0, 0}, cnt[2] = {dims[0], 2};
    hid_t ms = H5Screate_simple(2, cnt, NULL);
    if (!xy) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
    else if (dims[0] && (H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
                         H5Dread(d, H5T_NATIVE_FLOAT, ms, sp, H5P_DEFAULT, xy) < 0))
      rc = cg__h5_fail(err, CG_EFORMAT, path, "cannot read the embedding");
    H5Sclose(ms);
    if (rc) cg_free(xy);
    else rc = push(l, name, xy, (int64_t)dims[0], dims[1] > INT32_MAX ? INT32_MAX : (int)dims[1], path, err);
  }
  if (sp >= 0) H5Sclose(sp);
  return rc;
}

static herr_t on_entry(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  void **ctx = data;
  cg_h5ad *h = ctx[0];
  emb_list *l = ctx[1];
  cg_err *err = ctx[2];
  int *rc = ctx[3];
  char path[CG__PATH_MAX];
  cg__path_join(path, sizeof path, "/obsm", name);
  cg__h5kind k = cg__h5_kind(g, name);
  if (k != CG__H5_DATASET) {
    char enc[64] = "";
    if (k == CG__H5_GROUP) {
      hid_t sub = H5Gopen2(g, name, H5P_DEFAULT);
      if (sub >= 0) cg__encoding(sub, enc, sizeof enc), H5Gclose(sub);
    }
    cg__warn(h, "skipped obsm entry %s: a group (%s), not a dense array", path, enc[0] ? enc : "no encoding-type");
    return 0;
  }
  hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
  if (d < 0) return *rc = cg__h5_fail(err, CG_EFORMAT, path, "cannot open"), -1;
  *rc = read_dataset(h, d, name, path, l, err);
  H5Dclose(d);
  return *rc ? -1 : 0;
}

/* Legacy: one array field of the compound obsm dataset. */
static int read_field(cg_h5ad *h, hid_t d, hid_t t, unsigned i, emb_list *l, cg_err *err) {
  char *name = H5Tget_member_name(t, i), path[CG__PATH_MAX];
  hid_t ft = H5Tget_member_type(t, i);
  hsize_t adims[4] = {0};
  int rc = 0, ok = ft >= 0 && H5Tget_class(ft) == H5T_ARRAY && H5Tget_array_ndims(ft) == 1 &&
                   H5Tget_array_dims2(ft, adims) == 1 && adims[0] >= 2 && adims[0] < (1u << 20);
  snprintf(path, sizeof path, "/obsm (field '%s')", name ? name : "?");
  if (!name) rc = cg__h5_fail(err, CG_EFORMAT, "/obsm", "unreadable field %u", i);
  else if (!ok) cg__warn(h, "skipped obsm entry %s: not an array field with >= 2 columns", path);
  else {
    int64_t n = h->n_obs;
    hid_t at = H5Tarray_create2(H5T_NATIVE_FLOAT, 1, adims), ct = H5Tcreate(H5T_COMPOUND, H5Tget_size(at));
    float *all = cg_malloc_array((size_t)(n ? n : 1), (size_t)adims[0] * sizeof(float));
    float *xy = cg_malloc_array((size_t)(n ? n : 1), 2 * sizeof(float));
    if (!all || !xy) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
    else if (H5Tinsert(ct, name, 0, at) < 0 || (n && H5Dread(d, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) < 0))
      rc = cg__h5_fail(err, CG_EFORMAT, path, "cannot read");
    for (int64_t r = 0; rc == 0 && r < n; r++) xy[2 * r] = all[r * adims[0]], xy[2 * r + 1] = all[r * adims[0] + 1];
    H5Tclose(ct), H5Tclose(at), cg_free(all);
    if (rc) cg_free(xy);
    else rc = push(l, name, xy, n, (int)adims[0], path, err);
  }
  if (ft >= 0) H5Tclose(ft);
  if (name) H5free_memory(name);
  return rc;
}

static int read_legacy(cg_h5ad *h, emb_list *l, cg_err *err) {
  hid_t d = H5Dopen2(h->file, "/obsm", H5P_DEFAULT), t = d >= 0 ? H5Dget_type(d) : -1;
  int rc = 0;
  if (t < 0 || H5Tget_class(t) != H5T_COMPOUND) cg__warn(h, "skipped /obsm: a dataset that is not a compound");
  else if (cg__dset_len(d, NULL) != h->n_obs)
    rc = cg_err_set(err, CG_EFORMAT, "/obsm: %lld rows, expected n_obs = %lld", (long long)cg__dset_len(d, NULL),
                    (long long)h->n_obs);
  for (int i = 0; rc == 0 && t >= 0 && H5Tget_class(t) == H5T_COMPOUND && i < H5Tget_nmembers(t); i++)
    rc = read_field(h, d, t, (unsigned)i, l, err);
  if (t >= 0) H5Tclose(t);
  if (d >= 0) H5Dclose(d);
  return rc;
}

int cg_h5ad_read_embeddings(cg_h5ad *h, cg_embedding **out, int *n_out, cg_err *err) {
  emb_list l = {NULL, 0, 0};
  int rc = 0;
  *out = NULL, *n_out = 0;
  cg__h5_quiet();
  cg__h5kind k = cg__h5_kind(h->file, "/obsm");
  if (k == CG__H5_DATASET) {
    rc = read_legacy(h, &l, err);
  } else if (k == CG__H5_GROUP) {
    hid_t g = H5Gopen2(h->file, "/obsm", H5P_DEFAULT);
    hsize_t idx = 0;
    void *ctx[4] = {h, &l, err, &rc};
    if (g < 0) rc = cg__h5_fail(err, CG_EFORMAT, "/obsm", "cannot open");
    else if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, on_entry, ctx) < 0 && rc == 0)
      rc = cg__h5_fail(err, CG_EFORMAT, "/obsm", "cannot list entries");
    if (g >= 0) H5Gclose(g);
  }
  if (rc) cg_embeddings_free(l.e, l.n);
  else *out = l.e, *n_out = l.n;
  return rc;
}
