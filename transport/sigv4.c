/* sigv4.c - AWS Signature Version 4 (placeholder while it is written). */
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds, const char *region, const char *service, time_t now, struct sigv4_result *out)
{ (void)req; (void)creds; (void)region; (void)service; (void)now; memset(out, 0, sizeof(*out)); return SM_EUNSUPPORTED; }
void sigv4_result_free(struct sigv4_result *r) { (void)r; }
int sigv4_presign_url(const struct sigv4_presign *p, const struct sigv4_creds *creds, const char *region, const char *service, time_t now, char **url, struct sm_error *err)
{ (void)p; (void)creds; (void)region; (void)service; (void)now; *url = NULL; return sm_error_set(err, SM_EUNSUPPORTED, "not implemented yet"); }
void sigv4_sha256_hex(const void *data, size_t len, char out[65]) { (void)data; (void)len; memset(out, '0', 64); out[64] = 0; }
int sigv4_sha256_fd_hex(int fd, uint64_t offset, uint64_t len, char out[65]) { (void)fd; (void)offset; (void)len; (void)out; return SM_EUNSUPPORTED; }
char *sigv4_uri_encode(const char *s, size_t len, int keep_slash) { (void)keep_slash; return strndup(s, len); }
int sigv4_signing_key(const char *secret, const char *date8, const char *region, const char *service, unsigned char key[32]) { (void)secret; (void)date8; (void)region; (void)service; (void)key; return SM_EUNSUPPORTED; }
int sigv4_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope, const char *prev_signature, const void *chunk, size_t len, char out[65])
{ (void)key; (void)amz_date; (void)scope; (void)prev_signature; (void)chunk; (void)len; (void)out; return SM_EUNSUPPORTED; }
