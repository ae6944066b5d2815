/* h5ad.c — opening an .h5ad file: era detection, obs/var lengths, warnings, layer names.
 *
 * Design notes
 *  1. Open = register LZF (once per process), silence HDF5's error printing for this thread, H5Fopen
 *     read-only with H5F_CLOSE_STRONG (closing the file closes anything a failed path left open), then
 *     require /obs and /var and measure them (n_obs, n_vars = lengths of their index).
 *  2. Era, from the layout (the reader dispatches per element, so the era is only reported):
 *       /obs is a compound dataset                                  -> "legacy" (< 0.7)
 *       root has encoding-type, or /obs has encoding-version 0.2.0   -> "0.8"
 *       otherwise                                                   -> "0.7"
 *  3. Warnings are kept as owned strings (at most CG__WARN_MAX, the rest counted in one last line) until
 *     close.
 *  4. cg_h5ad_open_image opens a file image held in memory (core driver, no backing store): the fuzzer and
 *     the tests build files in memory and read them without touching the disk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

#define CG__WARN_MAX 256

void cg__warn(cg_h5ad *h, const char *fmt, ...) {
  char buf[CG_ERR_MSG_MAX];
  if (h->n_warnings > CG__WARN_MAX) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (h->n_warnings == CG__WARN_MAX) snprintf(buf, sizeof buf, "more warnings not kept");
  if (h->n_warnings == h->cap_warnings) {
    int nc = h->cap_warnings ? h->cap_warnings * 2 : 8;
    char **w = cg_realloc(h->warnings, (size_t)nc * sizeof *w);
    if (!w) return;
    h->warnings = w, h->cap_warnings = nc;
  }
  if ((h->warnings[h->n_warnings] = cg_strdup(buf))) h->n_warnings++;
}

int cg_h5ad_n_warnings(const cg_h5ad *h) { return h->n_warnings; }
const char *cg_h5ad_warning(const cg_h5ad *h, int i) { return i >= 0 && i < h->n_warnings ? h->warnings[i] : NULL; }
int64_t cg_h5ad_n_obs(const cg_h5ad *h) { return h->n_obs; }
int64_t cg_h5ad_n_vars(const cg_h5ad *h) { return h->n_vars; }
const char *cg_h5ad_era(const cg_h5ad *h) { return h->era; }

static const char *detect_era(hid_t file) {
  if (cg__h5_kind(file, "/obs") == CG__H5_DATASET) return "legacy";
  char enc[32];
  cg__encoding(file, enc, sizeof enc);
  if (enc[0]) return "0.8";
  hid_t g = H5Gopen2(file, "/obs", H5P_DEFAULT);
  char *ver = NULL;
  int v08 = g >= 0 && cg__attr_string(g, "encoding-version", &ver) == 0 && strcmp(ver, "0.2.0") == 0;
  cg_free(ver);
  if (g >= 0) H5Gclose(g);
  return v08 ? "0.8" : "0.7";
}

static int finish_open(hid_t file, const char *label, cg_h5ad **out, cg_err *err) {
  cg_h5ad *h = cg_calloc(1, sizeof *h);
  int rc = 0;
  if (!h) {
    H5Fclose(file);
    return cg_err_set(err, CG_ENOMEM, "%s: out of memory", label);
  }
  h->file = file;
  if (cg__h5_kind(file, "/obs") == CG__H5_ABSENT || cg__h5_kind(file, "/var") == CG__H5_ABSENT) {
    rc = cg_err_set(err, CG_EFORMAT, "%s: no /obs or /var: not an AnnData file", label);
    goto done;
  }
  h->era = detect_era(file);
  h->legacy = strcmp(h->era, "legacy") == 0;
  if ((rc = cg__frame_len(file, "/obs", &h->n_obs, err)) || (rc = cg__frame_len(file, "/var", &h->n_vars, err)))
    cg_err_prefix(err, "%s", label);
done:
  if (rc) cg_h5ad_close(h);
  else *out = h;
  return rc;
}

static hid_t strong_fapl(void) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0) H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  return fapl;
}

int cg_h5ad_open(const char *path, cg_h5ad **out, cg_err *err) {
  *out = NULL;
  cg__h5_quiet();
  int rc = cg__lzf_register(err);
  if (rc) return rc;
  if (access(path, R_OK) != 0) return cg_err_set(err, CG_EIO, "%s: cannot open: %s", path, strerror(errno));
  hid_t fapl = strong_fapl();
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (file < 0) return cg__h5_fail(err, CG_ECORRUPT, path, "not a readable HDF5 file (truncated or corrupt?)");
  return finish_open(file, path, out, err);
}

int cg_h5ad_open_image(const void *image, size_t size, cg_h5ad **out, cg_err *err) {
  *out = NULL;
  cg__h5_quiet();
  int rc = cg__lzf_register(err);
  if (rc) return rc;
  if (!image || size == 0) return cg_err_set(err, CG_EINVAL, "(memory image): empty");
  hid_t fapl = strong_fapl();
  hid_t file = -1;
  if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_file_image(fapl, (void *)image, size) >= 0)
    file = H5Fopen("cg-h5ad-image", H5F_ACC_RDONLY, fapl);
  if (fapl >= 0) H5Pclose(fapl);
  if (file < 0) return cg__h5_fail(err, CG_ECORRUPT, "(memory image)", "not a readable HDF5 file image");
  return finish_open(file, "(memory image)", out, err);
}

void cg_h5ad_close(cg_h5ad *h) {
  if (!h) return;
  if (h->file >= 0) H5Fclose(h->file);
  H5Eclear2(H5E_DEFAULT);
  cg__free_strings(h->warnings, h->n_warnings);
  cg_free(h);
}

typedef struct {
  char **names;
  int n, cap;
} names_acc;

static herr_t on_layer(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  names_acc *a = data;
  if (a->n == a->cap) {
    int nc = a->cap ? a->cap * 2 : 8;
    char **p = cg_realloc(a->names, (size_t)nc * sizeof *p);
    if (!p) return -1;
    a->names = p, a->cap = nc;
  }
  return (a->names[a->n] = cg_strdup(name)) ? (a->n++, 0) : -1;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cg_h5ad_layers(cg_h5ad *h, char ***names, int *n, cg_err *err) {
  names_acc a = {NULL, 0, 0};
  *names = NULL, *n = 0;
  cg__h5_quiet();
  if (cg__h5_kind(h->file, "/layers") != CG__H5_GROUP) return 0;
  hid_t g = H5Gopen2(h->file, "/layers", H5P_DEFAULT);
  hsize_t idx = 0;
  if (g < 0 || H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, on_layer, &a) < 0) {
    if (g >= 0) H5Gclose(g);
    cg__free_strings(a.names, a.n);
    return cg__h5_fail(err, CG_EFORMAT, "/layers", "cannot list layers");
  }
  H5Gclose(g);
  if (a.n > 1) qsort(a.names, (size_t)a.n, sizeof *a.names, cmp_name);
  *names = a.names, *n = a.n;
  return 0;
}

void cg_h5ad_names_free(char **names, int n) { cg__free_strings(names, n); }
