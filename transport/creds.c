/* creds.c - the AWS credentials chain (placeholder while it is written). */
#include <stdlib.h>

#include "creds.h"

int
creds_provider_create(struct creds_provider **out, struct sm_loop *loop, struct http *http,
    const struct creds_options *opt, struct sm_error *err)
{
	(void)loop; (void)http; (void)opt;
	*out = NULL;
	return sm_error_set(err, SM_EUNSUPPORTED, "credentials chain not implemented yet");
}

void creds_provider_destroy(struct creds_provider *p) { (void)p; }
int creds_get(struct creds_provider *p, struct sigv4_creds *out) { (void)p; (void)out; return SM_ECREDS; }
int creds_wait(struct creds_provider *p, creds_ready_cb *cb, void *arg) { (void)p; (void)cb; (void)arg; return SM_EUNSUPPORTED; }
const char *creds_last_error(const struct creds_provider *p) { (void)p; return "not implemented"; }
const char *creds_source(const struct creds_provider *p) { (void)p; return "none"; }
int64_t creds_expiration(const struct creds_provider *p) { (void)p; return 0; }
int creds_parse_time(const char *s, int64_t *out) { (void)s; (void)out; return SM_EPARSE; }
