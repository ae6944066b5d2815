/* h5ad_h5.c — small helpers over the HDF5 C API used by every reader file of src/h5ad/.
 *
 * Design notes
 *  1. Every helper closes what it opens before returning (one `done:` exit), so callers only own what an
 *     out-pointer hands them.
 *  2. Attributes written by h5py/anndata come in several shapes: vlen or fixed-length strings, scalar or
 *     one-element arrays, bools as an 8-bit enum {FALSE=0, TRUE=1}, an empty column-order as a float64
 *     array of length 0. The helpers accept all of them; anything else is CG_EFORMAT.
 *  3. HDF5 failures become messages: cg__h5_fail() walks the thread's error stack and appends the most
 *     specific description ("file signature not found") to our own "<path>: <what>".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

void cg__h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t on_walk(unsigned n, const H5E_error2_t *e, void *data) {
  char *out = data;
  if (n == 0 && e->desc && e->desc[0]) snprintf(out, 160, "%s", e->desc);
  return 0;
}

int cg__h5_fail(cg_err *err, int code, const char *path, const char *fmt, ...) {
  char what[600], why[160] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, on_walk, why);
  H5Eclear2(H5E_DEFAULT);
  if (why[0]) return cg_err_set(err, code, "%s: %s (HDF5: %s)", path, what, why);
  return cg_err_set(err, code, "%s: %s", path, what);
}

cg__h5kind cg__h5_kind(hid_t loc, const char *name) {
  char buf[CG__PATH_MAX];
  size_t len = strlen(name);
  if (len == 0 || len >= sizeof buf) return CG__H5_ABSENT;
  memcpy(buf, name, len + 1);
  for (char *p = buf + (buf[0] == '/'); *p; p++) { /* check each prefix so missing parents are not errors */
    if (*p != '/') continue;
    *p = '\0';
    htri_t ok = H5Lexists(loc, buf, H5P_DEFAULT);
    *p = '/';
    if (ok <= 0) return CG__H5_ABSENT;
  }
  if (strcmp(buf, "/") != 0 && H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return CG__H5_ABSENT;
  H5O_info_t info;
  if (H5Oget_info_by_name2(loc, buf, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return CG__H5_ABSENT; /* dangling soft/external link */
  }
  if (info.type == H5O_TYPE_GROUP) return CG__H5_GROUP;
  if (info.type == H5O_TYPE_DATASET) return CG__H5_DATASET;
  return CG__H5_OTHER;
}

void cg__path_join(char *out, size_t n, const char *a, const char *b) {
  if (a[0] == '\0' || strcmp(a, "/") == 0)
    snprintf(out, n, "/%s", b);
  else
    snprintf(out, n, "%s/%s", a, b);
}

void cg__free_strings(char **s, int64_t n) {
  if (!s) return;
  for (int64_t i = 0; i < n; i++) cg_free(s[i]);
  cg_free(s);
}

int cg__type_is_string(hid_t type) { return H5Tget_class(type) == H5T_STRING; }

int cg__type_is_bool(hid_t type) {
  if (H5Tget_class(type) != H5T_ENUM || H5Tget_size(type) != 1 || H5Tget_nmembers(type) != 2) return 0;
  int ok = 1;
  for (unsigned i = 0; i < 2 && ok; i++) {
    char *nm = H5Tget_member_name(type, i);
    signed char v = -1;
    ok = nm && H5Tget_member_value(type, i, &v) >= 0 &&
         ((strcmp(nm, "FALSE") == 0 && v == 0) || (strcmp(nm, "TRUE") == 0 && v == 1));
    if (nm) H5free_memory(nm);
  }
  return ok;
}

void cg__dtype_name(hid_t type, char *buf, size_t n) {
  size_t sz = H5Tget_size(type);
  switch (H5Tget_class(type)) {
  case H5T_INTEGER:
    snprintf(buf, n, "%s%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", sz * 8);
    break;
  case H5T_FLOAT: snprintf(buf, n, "float%zu", sz * 8); break;
  case H5T_STRING: snprintf(buf, n, "str"); break;
  case H5T_ENUM: snprintf(buf, n, "%s", cg__type_is_bool(type) ? "bool" : "enum"); break;
  case H5T_COMPOUND: snprintf(buf, n, "compound"); break;
  case H5T_ARRAY: snprintf(buf, n, "array"); break;
  default: snprintf(buf, n, "other"); break;
  }
}

int64_t cg__dset_len(hid_t dset, int *rank) {
  hid_t sp = H5Dget_space(dset);
  if (sp < 0) return -1;
  int r = H5Sget_simple_extent_ndims(sp);
  hsize_t dims[1] = {0};
  int64_t len = -1;
  if (r == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1) len = (int64_t)dims[0];
  if (rank) *rank = r;
  H5Sclose(sp);
  return len;
}

int cg__read_all(hid_t dset, hid_t mem_type, void *buf, const char *path, cg_err *err) {
  if (H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    return cg__h5_fail(err, CG_EFORMAT, path, "cannot read values");
  return 0;
}

/* Reads a string attribute's raw elements: vlen (char *) or fixed (size bytes each). */
static int attr_read_strings(hid_t a, hid_t ftype, hssize_t npts, char ***out) {
  int rc = CG_EFORMAT;
  int vlen = H5Tis_variable_str(ftype) > 0;
  size_t fsz = H5Tget_size(ftype);
  hid_t mt = H5Tcopy(H5T_C_S1);
  char *raw = NULL, **v = cg_calloc((size_t)npts, sizeof *v);
  if (mt < 0 || !v) goto done;
  H5Tset_cset(mt, H5Tget_cset(ftype));
  if (vlen) {
    H5Tset_size(mt, H5T_VARIABLE);
    raw = cg_calloc((size_t)npts, sizeof(char *));
  } else {
    H5Tset_size(mt, fsz);
    raw = cg_malloc_array((size_t)npts, fsz);
  }
  if (!raw) goto done;
  if (H5Aread(a, mt, raw) < 0) goto done;
  rc = 0;
  for (hssize_t i = 0; i < npts; i++) {
    const char *s = vlen ? ((char **)raw)[i] : raw + (size_t)i * fsz;
    size_t len = vlen ? (s ? strlen(s) : 0) : strnlen(s, fsz);
    v[i] = cg_strndup(s ? s : "", len);
    if (!v[i]) rc = CG_ENOMEM;
    else if (!cg__utf8_valid(v[i], len)) rc = CG_EFORMAT;
  }
  if (vlen) {
    hid_t sp = H5Aget_space(a);
    H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
    H5Sclose(sp);
  }
done:
  cg_free(raw);
  if (mt >= 0) H5Tclose(mt);
  if (rc == 0) *out = v;
  else cg__free_strings(v, npts);
  return rc;
}

static int attr_open(hid_t obj, const char *name, hid_t *a, hid_t *t, hssize_t *npts) {
  if (H5Aexists(obj, name) <= 0) return CG_ENOTFOUND;
  *a = H5Aopen(obj, name, H5P_DEFAULT);
  if (*a < 0) return CG_EFORMAT;
  *t = H5Aget_type(*a);
  hid_t sp = H5Aget_space(*a);
  *npts = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  if (sp >= 0) H5Sclose(sp);
  if (*t < 0 || *npts < 0) {
    if (*t >= 0) H5Tclose(*t);
    H5Aclose(*a);
    return CG_EFORMAT;
  }
  return 0;
}

int cg__attr_strings(hid_t obj, const char *name, char ***out, int *n) {
  hid_t a, t;
  hssize_t npts;
  int rc = attr_open(obj, name, &a, &t, &npts);
  if (rc) return rc;
  *out = NULL;
  *n = 0;
  if (cg__type_is_string(t) && npts > 0 && npts < (1 << 24)) {
    rc = attr_read_strings(a, t, npts, out);
    if (rc == 0) *n = (int)npts;
  } else if (npts != 0) {
    rc = CG_EFORMAT; /* a non-empty attribute that is not strings */
  }
  H5Tclose(t);
  H5Aclose(a);
  H5Eclear2(H5E_DEFAULT);
  return rc;
}

int cg__attr_string(hid_t obj, const char *name, char **out) {
  char **v = NULL;
  int n = 0, rc = cg__attr_strings(obj, name, &v, &n);
  if (rc) return rc;
  if (n != 1) {
    cg__free_strings(v, n);
    return CG_EFORMAT;
  }
  *out = v[0];
  cg_free(v);
  return 0;
}

int cg__attr_ints(hid_t obj, const char *name, int64_t *out, int max, int *n) {
  hid_t a, t;
  hssize_t npts;
  int rc = attr_open(obj, name, &a, &t, &npts);
  if (rc) return rc;
  H5T_class_t cls = H5Tget_class(t);
  if ((cls != H5T_INTEGER && cls != H5T_ENUM && cls != H5T_FLOAT) || npts < 1 || npts > max) {
    rc = CG_EFORMAT;
  } else if (cls == H5T_ENUM) { /* bool: read the raw byte */
    signed char b[64];
    hid_t mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
    rc = (H5Tget_size(t) == 1 && H5Aread(a, mt, b) >= 0) ? 0 : CG_EFORMAT;
    for (hssize_t i = 0; rc == 0 && i < npts; i++) out[i] = b[i];
    H5Tclose(mt);
  } else {
    rc = H5Aread(a, H5T_NATIVE_INT64, out) >= 0 ? 0 : CG_EFORMAT;
  }
  if (rc == 0) *n = (int)npts;
  H5Tclose(t);
  H5Aclose(a);
  H5Eclear2(H5E_DEFAULT);
  return rc;
}

int cg__attr_bool(hid_t obj, const char *name, int *out) {
  int64_t v[1];
  int n = 0, rc = cg__attr_ints(obj, name, v, 1, &n);
  if (rc == 0) *out = v[0] != 0;
  return rc;
}

void cg__encoding(hid_t obj, char *buf, size_t n) {
  char *s = NULL;
  buf[0] = '\0';
  if (cg__attr_string(obj, "encoding-type", &s) == 0) snprintf(buf, n, "%s", s);
  cg_free(s);
}
