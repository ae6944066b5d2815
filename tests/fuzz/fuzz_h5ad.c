/* fuzz_h5ad.c — structure-aware fuzzing of the h5ad reader (libFuzzer).
 *
 * libhdf5 itself is not robust against arbitrary bytes, and what we want to exercise is OUR parser, so the
 * input is not an HDF5 file: its bytes drive the construction of a small AnnData file in an in-memory HDF5
 * file (core driver, no backing store): which groups, datasets and attributes exist, encoding-type strings,
 * dtypes, shapes, lengths (sometimes wrong), indptr/indices/data values, categorical codes (sometimes out of
 * range), string bytes (sometimes invalid UTF-8), chunking and gzip/LZF compression. The file image is then
 * opened with cg_h5ad_open_image and every reader entry point runs on it; everything is freed (the run is
 * under ASan/UBSan with leak detection).
 */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5ad/h5ad.h"

static hid_t g_dxpl = H5P_DEFAULT; /* writes with a small conversion buffer (HDF5 callocs 1 MiB per H5Dwrite) */

typedef struct {
  const uint8_t *p;
  size_t n, at;
} src;

static unsigned u8(src *s) { return s->at < s->n ? s->p[s->at++] : 0; }
static unsigned pick(src *s, unsigned k) { return k ? u8(s) % k : 0; }
static int64_t i16(src *s) { return (int16_t)(u8(s) | u8(s) << 8); }

static void attr_str(hid_t o, const char *name, const char *v) {
  hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  hid_t a = H5Acreate2(o, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) H5Awrite(a, t, &v), H5Aclose(a);
  H5Sclose(sp), H5Tclose(t);
}

static void attr_strs(hid_t o, const char *name, const char **v, hsize_t n) {
  hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(1, &n, NULL);
  H5Tset_size(t, H5T_VARIABLE);
  hid_t a = H5Acreate2(o, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) H5Awrite(a, t, v), H5Aclose(a);
  H5Sclose(sp), H5Tclose(t);
}

static void attr_i64(hid_t o, const char *name, const int64_t *v, hsize_t n) {
  hid_t sp = H5Screate_simple(1, &n, NULL), a = H5Acreate2(o, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) H5Awrite(a, H5T_NATIVE_INT64, v), H5Aclose(a);
  H5Sclose(sp);
}

static void enc(src *s, hid_t o, const char *type) {
  static const char *odd[] = {"array", "dict", "awkward-array", "", "null", "dataframe"};
  attr_str(o, "encoding-type", pick(s, 8) == 0 ? odd[pick(s, 6)] : type);
  attr_str(o, "encoding-version", "0.2.0");
}

/* A dataset of n numbers with a fuzzed dtype (or strings), optionally chunked + gzip/LZF. */
static hid_t numbers(src *s, hid_t g, const char *name, int rank, hsize_t *dims, int kind) {
  static const hid_t *types[] = {&H5T_NATIVE_INT8_g, &H5T_NATIVE_INT32_g, &H5T_NATIVE_INT64_g,
                                 &H5T_NATIVE_UINT8_g, &H5T_NATIVE_FLOAT_g, &H5T_NATIVE_DOUBLE_g};
  hid_t ft = kind >= 0 ? *types[kind % 6] : *types[pick(s, 6)];
  hsize_t n = rank == 2 ? dims[0] * dims[1] : dims[0];
  double *v = calloc(n + 1, sizeof *v);
  for (hsize_t i = 0; i < n; i++) {
    unsigned b = u8(s);
    v[i] = b == 255 ? 1.0 / 0.0 : b == 254 ? 0.0 / 0.0 : b >= 200 ? (double)i16(s) : (double)(b % 9) - 1;
  }
  hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  unsigned z = pick(s, 4);
  if (z && n > 0) {
    hsize_t ch[2] = {dims[0] > 2 ? dims[0] / 2 : 1, rank == 2 ? (dims[1] ? dims[1] : 1) : 1};
    H5Pset_chunk(dcpl, rank, ch);
    if (z == 2) H5Pset_deflate(dcpl, 1);
    if (z == 3) H5Pset_filter(dcpl, 32000, H5Z_FLAG_OPTIONAL, 0, NULL);
  }
  hid_t d = H5Dcreate2(g, name, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d >= 0 && n) H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, g_dxpl, v);
  H5Pclose(dcpl), H5Sclose(sp), free(v);
  return d;
}

static void close_d(hid_t d) {
  if (d >= 0) H5Dclose(d);
}

/* n strings from the input: short, sometimes with bytes >= 0x80 (maybe invalid UTF-8). */
static hid_t strings(src *s, hid_t g, const char *name, hsize_t n) {
  char **v = calloc(n + 1, sizeof *v);
  for (hsize_t i = 0; i < n; i++) {
    unsigned len = pick(s, 5);
    v[i] = calloc(len + 1, 1);
    for (unsigned k = 0; k < len; k++) {
      unsigned c = u8(s);
      v[i][k] = (char)(c < 0x80 || pick(s, 4) == 0 ? (c ? c : 'a') : 'a' + c % 26);
    }
  }
  hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(1, &n, NULL);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  hid_t d = H5Dcreate2(g, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (d >= 0 && n) H5Dwrite(d, t, H5S_ALL, H5S_ALL, g_dxpl, v);
  attr_str(d, "encoding-type", "string-array");
  for (hsize_t i = 0; i < n; i++) free(v[i]);
  free(v), H5Sclose(sp), H5Tclose(t);
  return d;
}

static hsize_t fuzz_len(src *s, hsize_t n) { return pick(s, 10) == 0 ? (hsize_t)pick(s, 6) : n; }

static void column(src *s, hid_t g, const char *name, hsize_t n) {
  hsize_t len = fuzz_len(s, n), nc = pick(s, 4);
  switch (pick(s, 7)) {
  case 0: close_d(numbers(s, g, name, 1, &len, -1)); break;
  case 1: close_d(strings(s, g, name, len)); break;
  case 2: {
    hid_t c = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    enc(s, c, "categorical");
    close_d(numbers(s, c, "codes", 1, &len, pick(s, 3)));
    close_d(pick(s, 3) ? strings(s, c, "categories", nc) : numbers(s, c, "categories", 1, &nc, -1));
    H5Gclose(c);
    break;
  }
  case 3:
  case 4: {
    static const char *kinds[] = {"nullable-integer", "nullable-boolean", "nullable-string-array"};
    unsigned k = pick(s, 3);
    hid_t c = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    enc(s, c, kinds[k]);
    close_d(k == 2 ? strings(s, c, "values", len) : numbers(s, c, "values", 1, &len, k == 0 ? 2 : 0));
    if (pick(s, 2)) close_d(numbers(s, c, "mask", 1, &len, 0));
    H5Gclose(c);
    break;
  }
  default: { /* 0.7: codes with a `categories` object reference */
    hid_t d = numbers(s, g, name, 1, &len, 0);
    char cname[64];
    snprintf(cname, sizeof cname, "__cat_%s", name);
    hid_t cd = strings(s, g, cname, nc);
    hobj_ref_t ref;
    if (d >= 0 && cd >= 0 && H5Rcreate(&ref, g, cname, H5R_OBJECT, -1) >= 0) {
      hid_t sp = H5Screate(H5S_SCALAR), a = H5Acreate2(d, "categories", H5T_STD_REF_OBJ, sp, H5P_DEFAULT, H5P_DEFAULT);
      if (a >= 0) H5Awrite(a, H5T_STD_REF_OBJ, &ref), H5Aclose(a);
      H5Sclose(sp);
    }
    close_d(cd), close_d(d);
  }
  }
}

static void frame(src *s, hid_t f, const char *path, hsize_t n) {
  if (pick(s, 6) == 0) { /* legacy compound: index + one int field + one float field */
    typedef struct {
      char idx[4];
      int8_t code;
      double x;
    } rec;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(rec)), st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, 4);
    H5Tinsert(t, "index", HOFFSET(rec, idx), st);
    H5Tinsert(t, "code", HOFFSET(rec, code), H5T_NATIVE_INT8);
    H5Tinsert(t, "x", HOFFSET(rec, x), H5T_NATIVE_DOUBLE);
    rec *r = calloc(n + 1, sizeof *r);
    for (hsize_t i = 0; i < n; i++) r[i].idx[0] = (char)u8(s), r[i].code = (int8_t)(pick(s, 5) - 1), r[i].x = u8(s);
    hid_t sp = H5Screate_simple(1, &n, NULL), d = H5Dcreate2(f, path, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d >= 0 && n) H5Dwrite(d, t, H5S_ALL, H5S_ALL, g_dxpl, r);
    close_d(d), H5Sclose(sp), H5Tclose(st), H5Tclose(t), free(r);
    return;
  }
  hid_t g = H5Gcreate2(f, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  enc(s, g, "dataframe");
  attr_str(g, "_index", "_index");
  close_d(strings(s, g, "_index", fuzz_len(s, n)));
  static const char *names[] = {"a", "b", "code", "a"};
  unsigned nc = pick(s, 5);
  if (pick(s, 8)) attr_strs(g, "column-order", names, nc);
  for (unsigned i = 0; i < nc && i < 3; i++) column(s, g, names[i], n);
  H5Gclose(g);
}

static void sparse(src *s, hid_t f, const char *path, hsize_t rows, hsize_t cols) {
  hid_t g = H5Gcreate2(f, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int csc = pick(s, 3) == 0;
  enc(s, g, csc ? "csc_matrix" : "csr_matrix");
  int64_t shape[2] = {(int64_t)fuzz_len(s, rows), (int64_t)fuzz_len(s, cols)};
  attr_i64(g, "shape", shape, 2);
  hsize_t major = csc ? cols : rows, np = fuzz_len(s, major + 1);
  int64_t *ptr = calloc(np + 1, sizeof *ptr), nnz = 0;
  for (hsize_t i = 1; i < np; i++) ptr[i] = (nnz += pick(s, 4) == 0 ? -1 : (int64_t)pick(s, 4));
  hsize_t nd = (hsize_t)(nnz > 0 ? nnz : 0), ni = fuzz_len(s, nd);
  hid_t sp = H5Screate_simple(1, &np, NULL);
  hid_t d = H5Dcreate2(g, "indptr", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (d >= 0 && np) H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, g_dxpl, ptr);
  close_d(d), H5Sclose(sp), free(ptr);
  close_d(numbers(s, g, "indices", 1, &ni, pick(s, 2) + 1));
  close_d(numbers(s, g, "data", 1, &nd, -1));
  H5Gclose(g);
}

static void matrix(src *s, hid_t f, const char *path, hsize_t rows, hsize_t cols) {
  switch (pick(s, 4)) {
  case 0: break;
  case 1: {
    hsize_t dims[2] = {fuzz_len(s, rows), cols};
    close_d(numbers(s, f, path, 2, dims, pick(s, 2) ? 4 : -1));
    break;
  }
  default: sparse(s, f, path, rows, cols);
  }
}

static void obsm_and_uns(src *s, hid_t f, hsize_t n) {
  hid_t g = H5Gcreate2(f, "obsm", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  for (unsigned i = 0, k = pick(s, 4); i < k; i++) {
    char name[16];
    snprintf(name, sizeof name, "X_%u", i);
    hsize_t dims[2] = {fuzz_len(s, n), pick(s, 4)};
    if (pick(s, 6) == 0) H5Gclose(H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    else close_d(numbers(s, g, name, 1 + (pick(s, 5) != 0), dims, -1));
  }
  H5Gclose(g);
  g = H5Gcreate2(f, "uns", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (pick(s, 2)) close_d(strings(s, g, "title", 1));
  if (pick(s, 2)) close_d(strings(s, g, "a_colors", pick(s, 4)));
  if (pick(s, 2)) close_d(strings(s, g, "code_categories", pick(s, 4)));
  H5Gclose(g);
}

static void exercise(cg_h5ad *h) {
  cg_err e;
  cg_frame *fr = NULL;
  for (int k = 0; k < 3; k++) {
    if (cg_h5ad_read_frame(h, k == 0 ? CG_AXIS_OBS : CG_AXIS_VAR, k == 2, &fr, &e) == 0) cg_frame_free(fr);
  }
  cg_embedding *em = NULL;
  int ne = 0;
  if (cg_h5ad_read_embeddings(h, &em, &ne, &e) == 0) cg_embeddings_free(em, ne);
  cg_uns *u = NULL;
  if (cg_h5ad_read_uns(h, &u, &e) == 0) cg_uns_free(u);
  const char *which[] = {"X", "raw", "layer:L"};
  for (int w = 0; w < 3; w++) {
    cg_h5ad_matrix *m = NULL;
    if (cg_h5ad_matrix_open(h, which[w], &m, &e)) continue;
    const cg_matrix_info *mi = cg_h5ad_matrix_info(m);
    int64_t lines = cg_h5ad_matrix_major(m) == CG_AXIS_OBS ? mi->n_rows : mi->n_cols;
    cg_sparse_block b;
    cg_sparse_block_init(&b);
    cg_h5ad_matrix_sort_lines(m, w == 1);
    for (int64_t f = 0; mi->format != CG_MAT_ABSENT && f < lines; f += 3)
      if (cg_h5ad_matrix_read_block(m, f, lines - f < 3 ? lines - f : 3, &b, &e)) break;
    cg_sparse_block_dispose(&b);
    cg_h5ad_matrix_close(m);
  }
  char **names = NULL;
  int nn = 0;
  if (cg_h5ad_layers(h, &names, &nn, &e) == 0) cg_h5ad_names_free(names, nn);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  cg_h5ad *h = NULL;
  cg_err e;
  cg_h5ad_open_image("x", 1, &h, &e); /* registers the LZF filter (and fails: not a file) */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  g_dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_buffer(g_dxpl, 4096, NULL, NULL);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  src s = {data, size, 0};
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, 0);
  hid_t f = H5Fcreate("fuzz.h5ad", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) return 0;
  hsize_t n_obs = pick(&s, 9), n_vars = pick(&s, 7);
  if (pick(&s, 2)) attr_str(f, "encoding-type", "anndata");
  frame(&s, f, "obs", n_obs);
  frame(&s, f, "var", n_vars);
  matrix(&s, f, "X", n_obs, n_vars);
  if (pick(&s, 3) == 0) {
    hid_t r = H5Gcreate2(f, "raw", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(r);
    matrix(&s, f, "raw/X", n_obs, n_vars + 1);
    frame(&s, f, "raw/var", n_vars + 1);
  }
  if (pick(&s, 3) == 0) {
    H5Gclose(H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    matrix(&s, f, "layers/L", n_obs, n_vars);
  }
  obsm_and_uns(&s, f, n_obs);
  H5Fflush(f, H5F_SCOPE_GLOBAL);
  ssize_t len = H5Fget_file_image(f, NULL, 0);
  void *img = len > 0 ? malloc((size_t)len) : NULL;
  if (img && H5Fget_file_image(f, img, (size_t)len) == len) {
    cg_h5ad *h = NULL;
    cg_err e;
    if (cg_h5ad_open_image(img, (size_t)len, &h, &e) == 0) exercise(h), cg_h5ad_close(h);
  }
  free(img);
  H5Fclose(f);
  return 0;
}
