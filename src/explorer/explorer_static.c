/* explorer_static.c — see explorer_static.h. */
#include "explorer/explorer_static.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "base/mem.h"
#include "http/http_codec.h"
#include "http/http_hdr.h"

typedef struct file {
  const char *name, *type;
  cg_http_blob *body[3]; /* by cg_http_enc: identity, gzip, zstd; NULL when absent */
  char etag[40];
} file;

static const file templates[] = {
    {"index.html", "text/html; charset=utf-8", {0}, ""},
    {"app.js", "text/javascript; charset=utf-8", {0}, ""},
    {"app.css", "text/css; charset=utf-8", {0}, ""},
    {"app.js.map", "application/json", {0}, ""},
    {"app.css.map", "application/json", {0}, ""},
};
#define NFILES (sizeof templates / sizeof templates[0])

struct cg__xstatic {
  file f[NFILES];
  int loaded;
};

static int read_all(const char *path, uint8_t **out, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return CG_ENOTFOUND;
  int rc = CG_EIO;
  uint8_t *buf = NULL;
  if (fseek(fp, 0, SEEK_END) == 0) {
    long n = ftell(fp);
    if (n >= 0 && fseek(fp, 0, SEEK_SET) == 0 && (buf = cg_malloc((size_t)n + 1))) {
      rc = fread(buf, 1, (size_t)n, fp) == (size_t)n ? 0 : CG_EIO;
      *len = (size_t)n;
    } else if (n >= 0) rc = CG_ENOMEM;
  }
  fclose(fp);
  if (rc) cg_free(buf);
  else *out = buf;
  return rc;
}

static int load_file(const char *dir, file *f, cg_err *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, f->name);
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = read_all(path, &data, &len);
  if (rc == CG_ENOTFOUND) return 0;
  if (rc) return cg_err_set(err, rc, "web client: %s: cannot read", path);
  XXH128_hash_t h = XXH3_128bits(data, len);
  snprintf(f->etag, sizeof f->etag, "w%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
  for (int e = CG_HTTP_ENC_GZIP; e <= CG_HTTP_ENC_ZSTD; e++) {
    uint8_t *z;
    size_t zlen;
    if (cg_http_compress((cg_http_enc)e, data, len, &z, &zlen, err) == 0) f->body[e] = cg_http_blob_take(z, zlen);
  }
  f->body[CG_HTTP_ENC_IDENTITY] = cg_http_blob_take(data, len);
  return f->body[0] ? 0 : cg_err_set(err, CG_ENOMEM, "web client: %s", path);
}

int cg__xstatic_load(const char *dir, cg__xstatic **out, cg_err *err) {
  cg__xstatic *s = cg_calloc(1, sizeof *s);
  if (!s) return cg_err_set(err, CG_ENOMEM, "web client");
  memcpy(s->f, templates, sizeof templates);
  int rc = 0;
  for (size_t i = 0; dir && i < NFILES && !rc; i++) rc = load_file(dir, &s->f[i], err);
  s->loaded = s->f[0].body[0] != NULL;
  if (rc) cg__xstatic_free(s), s = NULL;
  *out = s;
  return rc;
}

void cg__xstatic_free(cg__xstatic *s) {
  if (!s) return;
  for (size_t i = 0; i < NFILES; i++)
    for (int e = 0; e < 3; e++) cg_http_blob_release(s->f[i].body[e]);
  cg_free(s);
}

static const file *lookup(const cg__xstatic *s, const char *rel) {
  if (!*rel || strcmp(rel, "index.html") == 0) return &s->f[0];
  for (size_t i = 1; i < NFILES; i++)
    if (strcmp(rel, s->f[i].name) == 0) return &s->f[i];
  return NULL;
}

static void not_built(cg_http_resp *p) {
  static const char msg[] = "{\"status\":\"error\",\"code\":404,\"message\":\"the web client is not built: run "
                            "'make web' (or pass --web DIR with a built web/dist)\"}";
  p->status = 404, p->content_type = "application/json", p->cache_control = "no-store";
  p->body = cg_http_blob_copy(msg, sizeof msg - 1);
}

int cg__xstatic_serve(const cg__xstatic *s, cg_http_req *req, const char *rel, cg_http_resp *p) {
  const file *f = lookup(s, rel);
  if (!f) return 0;
  if (!s->loaded || !f->body[0]) return not_built(p), 1;
  p->status = 200, p->content_type = f->type, p->cache_control = "no-cache", p->vary = "Accept-Encoding";
  snprintf(p->etag, sizeof p->etag, "%s", f->etag);
  const char *inm = cg_http_req_header(req, "If-None-Match");
  if (inm && cg_http_etag_match(inm, strlen(inm), f->etag)) return p->status = 304, 1;
  const char *ae = cg_http_req_header(req, "Accept-Encoding");
  cg_http_enc e = ae ? cg_http_pick_encoding(ae, strlen(ae)) : CG_HTTP_ENC_IDENTITY;
  if (!f->body[e]) e = CG_HTTP_ENC_IDENTITY;
  p->body = cg_http_blob_retain(f->body[e]);
  p->content_encoding = e == CG_HTTP_ENC_IDENTITY ? NULL : cg_http_enc_name(e);
  return 1;
}
