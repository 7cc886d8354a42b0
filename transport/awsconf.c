/* awsconf.c - AWS configuration (placeholder while it is written). */
#include <stdlib.h>
#include <string.h>

#include "awsconf.h"

int awsconf_load(struct awsconf *conf, const struct tp_config *cfg, struct sm_error *err)
{ (void)cfg; memset(conf, 0, sizeof(*conf)); return sm_error_set(err, SM_EUNSUPPORTED, "awsconf not implemented yet"); }
void awsconf_free(struct awsconf *conf) { (void)conf; }
int awsconf_bucket_dns_ok(const char *bucket, int tls) { (void)bucket; (void)tls; return 0; }
int awsconf_s3_path_style(const struct awsconf *conf, const char *bucket) { (void)conf; (void)bucket; return 1; }
int awsconf_s3_target(const struct awsconf *conf, const char *bucket, const char *key, char **base, char **host, char **path, struct sm_error *err)
{ (void)conf; (void)bucket; (void)key; *base = *host = *path = NULL; return sm_error_set(err, SM_EUNSUPPORTED, "not implemented yet"); }
int awsconf_split_url(const char *url, char **scheme, char **host, char **path, struct sm_error *err)
{ (void)url; *scheme = *host = *path = NULL; return sm_error_set(err, SM_EUNSUPPORTED, "not implemented yet"); }
int awsconf_ini_parse(const char *data, size_t len, const char *name, struct awsconf_ini **out, struct sm_error *err)
{ (void)data; (void)len; (void)name; *out = NULL; return sm_error_set(err, SM_EUNSUPPORTED, "not implemented yet"); }
int awsconf_ini_load(const char *path, struct awsconf_ini **out, struct sm_error *err)
{ (void)path; *out = NULL; return sm_error_set(err, SM_EUNSUPPORTED, "not implemented yet"); }
void awsconf_ini_free(struct awsconf_ini *ini) { (void)ini; }
const char *awsconf_ini_get(const struct awsconf_ini *ini, const char *section, const char *key) { (void)ini; (void)section; (void)key; return NULL; }
int awsconf_ini_has_section(const struct awsconf_ini *ini, const char *section) { (void)ini; (void)section; return 0; }
char *awsconf_config_section(const char *profile) { (void)profile; return NULL; }
char *awsconf_config_path(void) { return NULL; }
char *awsconf_credentials_path(void) { return NULL; }
