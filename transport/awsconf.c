/*
 * awsconf.c - AWS configuration from tp_config, the environment and the
 * shared config file; the shared-file (ini) parser.
 *
 * The parser follows what botocore's RawConfigParser accepts (sections,
 * "key = value" or "key: value", whole-line '#'/';' comments, indented
 * nested settings) and treats its input as hostile: lengths are capped,
 * NUL bytes refused, and no message ever quotes a line, since the
 * credentials file holds secrets.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "awsconf.h"
#include "http.h"
#include "sm_log.h"
#include "transport.h"

/* ---- the ini parser --------------------------------------------------- */

struct ini_entry {
	char *section;
	char *key;
	char *value;
};

struct awsconf_ini {
	struct ini_entry *e;
	size_t n, cap;
	char **sections;
	size_t nsections, capsections;
};

void
tp__awsconf_ini_free(struct awsconf_ini *ini)
{
	size_t i;

	if (ini == NULL)
		return;
	for (i = 0; i < ini->n; i++) {
		free(ini->e[i].key);
		/* values may hold secrets: wipe before freeing */
		if (ini->e[i].value) {
			explicit_bzero(ini->e[i].value, strlen(ini->e[i].value));
			free(ini->e[i].value);
		}
	}
	for (i = 0; i < ini->nsections; i++)
		free(ini->sections[i]);
	free(ini->sections);
	free(ini->e);
	free(ini);
}

static int
ini_add_section(struct awsconf_ini *ini, const char *name, size_t len, char **out)
{
	size_t i;
	char *s;

	for (i = 0; i < ini->nsections; i++) {
		if (strlen(ini->sections[i]) == len && memcmp(ini->sections[i], name, len) == 0) {
			*out = ini->sections[i];
			return 0;
		}
	}
	if (ini->nsections == ini->capsections) {
		size_t nc = ini->capsections ? ini->capsections * 2 : 8;
		char **ns = realloc(ini->sections, nc * sizeof(*ns));

		if (ns == NULL)
			return SM_ENOMEM;
		ini->sections = ns;
		ini->capsections = nc;
	}
	s = strndup(name, len);
	if (s == NULL)
		return SM_ENOMEM;
	ini->sections[ini->nsections++] = s;
	*out = s;
	return 0;
}

static int
ini_add(struct awsconf_ini *ini, char *section, const char *prefix, const char *key,
    size_t klen, const char *val, size_t vlen)
{
	struct ini_entry *e;
	size_t plen = prefix ? strlen(prefix) + 1 : 0, i;

	if (ini->n == ini->cap) {
		size_t nc = ini->cap ? ini->cap * 2 : 16;
		struct ini_entry *ne = realloc(ini->e, nc * sizeof(*ne));

		if (ne == NULL)
			return SM_ENOMEM;
		ini->e = ne;
		ini->cap = nc;
	}
	e = &ini->e[ini->n];
	e->section = section;
	e->key = malloc(plen + klen + 1);
	e->value = strndup(val, vlen);
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		return SM_ENOMEM;
	}
	if (prefix) {
		memcpy(e->key, prefix, plen - 1);
		e->key[plen - 1] = '.';
	}
	for (i = 0; i < klen; i++)
		e->key[plen + i] = (char)tolower((unsigned char)key[i]);
	e->key[plen + klen] = '\0';
	ini->n++;
	return 0;
}

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trim [*s, *e) in place. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && blank(**s))
		(*s)++;
	while (*e > *s && blank((*e)[-1]))
		(*e)--;
}

struct ini_errs {
	const char *name;
	int count;
	char first[512];
};

__attribute__((format(printf, 3, 4))) static void
ini_error(struct ini_errs *es, size_t line, const char *fmt, ...)
{
	va_list ap;
	char what[256];

	if (es->count++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(es->first, sizeof(es->first), "%s:%zu: %s", es->name, line, what);
}

int
tp__awsconf_ini_parse(
    const char *data, size_t len, const char *name, struct awsconf_ini **out, struct sm_error *err)
{
	struct awsconf_ini *ini;
	struct ini_errs es = { name ? name : "config", 0, "" };
	const char *p = data, *end = data + len;
	char *section = NULL, *parent = NULL;
	int bad_section = 0, rc = 0;
	size_t line = 0;

	*out = NULL;
	if (data == NULL && len > 0)
		return sm_error_set(err, SM_EINVAL, "%s: no data", es.name);
	if (len > AWSCONF_FILE_MAX)
		return sm_error_set(err, SM_ETOOBIG,
		    "%s: file is larger than %d bytes; is it really an aws config file?",
		    es.name, AWSCONF_FILE_MAX);
	ini = calloc(1, sizeof(*ini));
	if (ini == NULL)
		return sm_error_set(err, SM_ENOMEM, "%s: out of memory", es.name);

	while (p < end && rc == 0) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = eol ? eol : end, *d;
		int indented;

		p = eol ? eol + 1 : end;
		line++;
		if ((size_t)(e - s) > AWSCONF_LINE_MAX) {
			ini_error(&es, line, "line longer than %d bytes", AWSCONF_LINE_MAX);
			parent = NULL;
			continue;
		}
		if (memchr(s, '\0', (size_t)(e - s))) {
			ini_error(&es, line, "NUL byte in line");
			parent = NULL;
			continue;
		}
		indented = s < e && (*s == ' ' || *s == '\t');
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			const char *close = e - 1;

			parent = NULL;
			if (*close != ']') {
				ini_error(&es, line, "section header without ']'");
				bad_section = 1;
				section = NULL;
				continue;
			}
			s++;
			trim(&s, &close);
			if (s == close || memchr(s, '[', (size_t)(close - s)) ||
			    memchr(s, ']', (size_t)(close - s))) {
				ini_error(&es, line, "empty or malformed section name");
				bad_section = 1;
				section = NULL;
				continue;
			}
			rc = ini_add_section(ini, s, (size_t)(close - s), &section);
			bad_section = 0;
			continue;
		}
		/* key = value (or key: value), the first delimiter wins */
		for (d = s; d < e && *d != '=' && *d != ':'; d++)
			;
		if (d == e) {
			ini_error(&es, line, "expected 'key = value' or '[section]'");
			continue;
		}
		if (section == NULL) {
			if (!bad_section)
				ini_error(&es, line, "setting outside of any [section]");
			continue;
		}
		{
			const char *ks = s, *ke = d, *vs = d + 1, *ve = e;

			trim(&ks, &ke);
			trim(&vs, &ve);
			if (ks == ke) {
				ini_error(&es, line, "setting without a name");
				continue;
			}
			if (indented && parent) {
				rc = ini_add(ini, section, parent, ks, (size_t)(ke - ks), vs,
				    (size_t)(ve - vs));
				continue;
			}
			rc = ini_add(ini, section, NULL, ks, (size_t)(ke - ks), vs,
			    (size_t)(ve - vs));
			/* an empty value opens nested settings on indented lines */
			parent = (rc == 0 && vs == ve) ? ini->e[ini->n - 1].key : NULL;
		}
	}
	if (rc) {
		tp__awsconf_ini_free(ini);
		return sm_error_set(err, rc, "%s: out of memory", es.name);
	}
	if (es.count) {
		tp__awsconf_ini_free(ini);
		if (es.count > 1)
			return sm_error_set(err, SM_EPARSE, "%s (and %d more errors); fix the file",
			    es.first, es.count - 1);
		return sm_error_set(err, SM_EPARSE, "%s; fix the file", es.first);
	}
	*out = ini;
	return 0;
}

int
tp__awsconf_ini_load(const char *path, struct awsconf_ini **out, struct sm_error *err)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		return sm_error_set(err, e == ENOENT ? SM_ENOTFOUND : sm_error_from_errno(e),
		    "cannot open \"%s\": %s", path, strerror(e));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sm_error_set(err, SM_EIO, "\"%s\" is not a regular file", path);
	}
	if (st.st_size > AWSCONF_FILE_MAX) {
		close(fd);
		return sm_error_set(err, SM_ETOOBIG,
		    "\"%s\" is larger than %d bytes; is it really an aws config file?", path,
		    AWSCONF_FILE_MAX);
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		close(fd);
		return sm_error_set(err, SM_ENOMEM, "out of memory reading \"%s\"", path);
	}
	/* read what is there, at most the cap (the file may grow meanwhile) */
	while (len <= (size_t)AWSCONF_FILE_MAX) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			free(data);
			return sm_error_set(err, SM_EIO, "cannot read \"%s\": %s", path,
			    strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == (size_t)st.st_size)
			break;
	}
	close(fd);
	rc = tp__awsconf_ini_parse(data, len, path, out, err);
	explicit_bzero(data, len);
	free(data);
	return rc;
}

const char *
tp__awsconf_ini_get(const struct awsconf_ini *ini, const char *section, const char *key)
{
	size_t i;

	if (ini == NULL || section == NULL || key == NULL)
		return NULL;
	for (i = ini->n; i-- > 0;)
		if (strcmp(ini->e[i].section, section) == 0 && strcasecmp(ini->e[i].key, key) == 0)
			return ini->e[i].value;
	return NULL;
}

int
tp__awsconf_ini_has_section(const struct awsconf_ini *ini, const char *section)
{
	size_t i;

	if (ini == NULL || section == NULL)
		return 0;
	for (i = 0; i < ini->nsections; i++)
		if (strcmp(ini->sections[i], section) == 0)
			return 1;
	return 0;
}

char *
tp__awsconf_config_section(const char *profile)
{
	char *s = NULL;

	if (profile == NULL || strcmp(profile, "default") == 0)
		return strdup("default");
	if (asprintf(&s, "profile %s", profile) < 0)
		return NULL;
	return s;
}

static char *
home_path(const char *env, const char *rel)
{
	const char *v = getenv(env), *home;
	char *s = NULL;

	if (v && *v)
		return strdup(v);
	home = getenv("HOME");
	if (home == NULL || *home == '\0')
		return NULL;
	if (asprintf(&s, "%s/%s", home, rel) < 0)
		return NULL;
	return s;
}

char *
tp__awsconf_config_path(void)
{
	return home_path("AWS_CONFIG_FILE", ".aws/config");
}

char *
tp__awsconf_credentials_path(void)
{
	return home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
}

/* ---- URLs and buckets ------------------------------------------------- */

int
tp__awsconf_split_url(
    const char *url, char **scheme, char **host, char **path, struct sm_error *err)
{
	const char *p, *auth, *aend, *hs, *he, *port = NULL;
	int https;
	long pn = 0;

	*scheme = *host = *path = NULL;
	if (url == NULL)
		return sm_error_set(err, SM_EINVAL, "no endpoint url");
	/* user information first: no message below may quote a password */
	p = strstr(url, "://");
	auth = p != NULL ? p + 3 : url;
	if (memchr(auth, '@', strcspn(auth, "/?#")))
		return sm_error_set(err, SM_EINVAL,
		    "endpoint url must not hold user information; use credentials instead");
	if (strncasecmp(url, "https://", 8) == 0) {
		https = 1;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		https = 0;
		auth = url + 7;
	} else {
		return sm_error_set(err, SM_EINVAL,
		    "endpoint \"%.200s\" is not an http:// or https:// url", url);
	}
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127)
			return sm_error_set(err, SM_EINVAL,
			    "endpoint url holds a space or control character; check its value");
	aend = auth + strcspn(auth, "/?#");
	if (*aend == '?' || *aend == '#' || strpbrk(aend, "?#"))
		return sm_error_set(err, SM_EINVAL,
		    "endpoint \"%.200s\" has a query or fragment; give scheme://host[:port][/path]",
		    url);
	if (memchr(auth, '@', (size_t)(aend - auth)))
		return sm_error_set(err, SM_EINVAL,
		    "endpoint url must not hold user information; use credentials instead");
	hs = auth;
	if (*hs == '[') {
		he = memchr(hs, ']', (size_t)(aend - hs));
		if (he == NULL)
			return sm_error_set(err, SM_EINVAL, "endpoint \"%.200s\": missing ']'", url);
		he++;
		if (he < aend) {
			if (*he != ':')
				return sm_error_set(err, SM_EINVAL,
				    "endpoint \"%.200s\": bad host", url);
			port = he + 1;
		}
	} else {
		he = memchr(hs, ':', (size_t)(aend - hs));
		if (he) {
			port = he + 1;
		} else {
			he = aend;
		}
	}
	if (he == hs)
		return sm_error_set(err, SM_EINVAL, "endpoint \"%.200s\" has no host", url);
	if (port) {
		const char *q;

		if (port == aend)
			return sm_error_set(err, SM_EINVAL, "endpoint \"%.200s\": empty port", url);
		for (q = port; q < aend; q++) {
			if (!isdigit((unsigned char)*q) || pn > 65535)
				return sm_error_set(err, SM_EINVAL,
				    "endpoint \"%.200s\": bad port", url);
			pn = pn * 10 + (*q - '0');
		}
		if (pn < 1 || pn > 65535)
			return sm_error_set(err, SM_EINVAL, "endpoint \"%.200s\": bad port", url);
	}
	*scheme = strdup(https ? "https" : "http");
	if (port && pn != (https ? 443 : 80))
		*host = strndup(hs, (size_t)(aend - hs));
	else
		*host = strndup(hs, (size_t)(he - hs));
	{
		size_t pl = strlen(aend);

		while (pl > 0 && aend[pl - 1] == '/')
			pl--;
		*path = strndup(aend, pl);
	}
	if (*scheme == NULL || *host == NULL || *path == NULL) {
		free(*scheme);
		free(*host);
		free(*path);
		*scheme = *host = *path = NULL;
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	for (char *c = *host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return 0;
}

static int
is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

int
tp__awsconf_bucket_dns_ok(const char *bucket, int tls)
{
	size_t n, i;

	if (bucket == NULL)
		return 0;
	n = strlen(bucket);
	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = bucket[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return 0;
		if (c == '.' && tls)
			return 0;
		if (c == '.' && i + 1 < n && (bucket[i + 1] == '.' || bucket[i + 1] == '-'))
			return 0;
		if (c == '-' && i + 1 < n && bucket[i + 1] == '.')
			return 0;
	}
	if (!isalnum((unsigned char)bucket[0]) || !isalnum((unsigned char)bucket[n - 1]))
		return 0;
	if (is_ipv4(bucket))
		return 0;
	return 1;
}

/* Host part of "host[:port]" is an IP literal or localhost, or a port is there. */
static int
host_wants_path_style(const char *host)
{
	char h[256];
	const char *colon;
	size_t n;

	if (host[0] == '[')
		return 1;
	colon = strchr(host, ':');
	if (colon)
		return 1;
	n = strlen(host);
	if (n >= sizeof(h))
		return 0;
	memcpy(h, host, n + 1);
	if (is_ipv4(h) || strcmp(h, "localhost") == 0)
		return 1;
	if (n > 10 && strcmp(h + n - 10, ".localhost") == 0)
		return 1;
	return 0;
}

int
tp__awsconf_s3_path_style(const struct awsconf *conf, const char *bucket)
{
	char *scheme = NULL, *host = NULL, *path = NULL;
	int style = 1, tls;

	if (conf == NULL || conf->endpoint_s3 == NULL)
		return 1;
	if (tp__awsconf_split_url(conf->endpoint_s3, &scheme, &host, &path, NULL) != 0)
		return 1;
	tls = strcmp(scheme, "https") == 0;
	if (!tp__awsconf_bucket_dns_ok(bucket, tls))
		style = 1;
	else if (conf->s3_path_style >= 0)
		style = conf->s3_path_style;
	else if (host_wants_path_style(host) || *path != '\0')
		style = 1;
	else
		style = 0;
	free(scheme);
	free(host);
	free(path);
	return style;
}

int
tp__awsconf_s3_target(const struct awsconf *conf, const char *bucket, const char *key, char **base,
    char **host, char **path, struct sm_error *err)
{
	char *scheme = NULL, *ehost = NULL, *epath = NULL;
	int rc, n1 = 0, n2 = 0, n3 = 0;

	*base = *host = *path = NULL;
	if (conf == NULL || conf->endpoint_s3 == NULL)
		return sm_error_set(err, SM_EINVAL, "no s3 endpoint configured");
	if (bucket && *bucket == '\0')
		return sm_error_set(err, SM_EINVAL, "empty bucket name");
	if (bucket && strchr(bucket, '/'))
		return sm_error_set(err, SM_EINVAL, "bucket name \"%.200s\" holds a '/'", bucket);
	if (key && bucket == NULL)
		return sm_error_set(err, SM_EINVAL, "a key needs a bucket");
	rc = tp__awsconf_split_url(conf->endpoint_s3, &scheme, &ehost, &epath, err);
	if (rc)
		return rc;
	if (bucket == NULL) {
		n1 = asprintf(base, "%s://%s", scheme, ehost);
		*host = strdup(ehost);
		n2 = asprintf(path, "%s/", epath);
	} else if (tp__awsconf_s3_path_style(conf, bucket)) {
		n1 = asprintf(base, "%s://%s", scheme, ehost);
		*host = strdup(ehost);
		n2 = asprintf(path, "%s/%s%s%s", epath, bucket, key ? "/" : "", key ? key : "");
	} else {
		n1 = asprintf(base, "%s://%s.%s", scheme, bucket, ehost);
		n3 = asprintf(host, "%s.%s", bucket, ehost);
		n2 = asprintf(path, "%s/%s", epath, key ? key : "");
	}
	free(scheme);
	free(ehost);
	free(epath);
	if (n1 < 0)
		*base = NULL;
	if (n2 < 0)
		*path = NULL;
	if (n3 < 0)
		*host = NULL;
	if (*base == NULL || *host == NULL || *path == NULL) {
		free(*base);
		free(*host);
		free(*path);
		*base = *host = *path = NULL;
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- loading ---------------------------------------------------------- */

void
tp__awsconf_free(struct awsconf *conf)
{
	if (conf == NULL)
		return;
	free(conf->profile);
	free(conf->region);
	free(conf->endpoint_sqs);
	free(conf->endpoint_s3);
	free(conf->ca_bundle);
	memset(conf, 0, sizeof(*conf));
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int
is_true(const char *v)
{
	return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static int
valid_region(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n > 64)
		return 0;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
			return 0;
	return 1;
}

/* Validate and store an endpoint: scheme://host[:port][/path], no '/' at the end. */
static int
set_endpoint(char **dst, const char *url, const char *what, struct sm_error *err)
{
	char *scheme, *host, *path;
	int rc;

	rc = tp__awsconf_split_url(url, &scheme, &host, &path, err);
	if (rc) {
		sm_error_prefix(err, "%s", what);
		return rc;
	}
	rc = asprintf(dst, "%s://%s%s", scheme, host, path);
	free(scheme);
	free(host);
	free(path);
	if (rc < 0) {
		*dst = NULL;
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	return 0;
}

int
tp__awsconf_load(struct awsconf *conf, const struct tp_config *cfg, struct sm_error *err)
{
	struct awsconf_ini *ini = NULL;
	char *cpath = NULL, *section = NULL;
	const char *v, *src;
	int rc = 0, ignore_ep, allow_http;

	memset(conf, 0, sizeof(*conf));
	conf->s3_path_style = -1;

	v = env("AWS_PROFILE");
	conf->profile = strdup(v ? v : "default");
	section = tp__awsconf_config_section(conf->profile);
	if (conf->profile == NULL || section == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	cpath = tp__awsconf_config_path();
	if (cpath) {
		rc = tp__awsconf_ini_load(cpath, &ini, err);
		if (rc == SM_ENOTFOUND) {
			rc = 0;
			if (err)
				sm_error_clear(err);
		} else if (rc) {
			goto out;
		}
	}
	/* "[profile default]" also works for the default profile */
	if (ini && strcmp(section, "default") == 0 &&
	    !tp__awsconf_ini_has_section(ini, "default") &&
	    tp__awsconf_ini_has_section(ini, "profile default")) {
		free(section);
		section = strdup("profile default");
		if (section == NULL) {
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto out;
		}
	}

	/* region */
	src = "tp_config";
	v = cfg && cfg->region && *cfg->region ? cfg->region : NULL;
	if (v == NULL && (v = env("AWS_REGION")) != NULL)
		src = "AWS_REGION";
	if (v == NULL && (v = env("AWS_DEFAULT_REGION")) != NULL)
		src = "AWS_DEFAULT_REGION";
	if (v == NULL && (v = tp__awsconf_ini_get(ini, section, "region")) != NULL && *v)
		src = cpath;
	if (v == NULL || *v == '\0')
		v = "us-east-1";
	if (!valid_region(v)) {
		rc = sm_error_set(err, SM_EINVAL,
		    "region \"%.64s\" (from %s) is not a region name like \"us-east-1\"", v, src);
		goto out;
	}
	conf->region = strdup(v);
	if (conf->region == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}

	/* endpoints */
	ignore_ep = is_true(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
	    is_true(tp__awsconf_ini_get(ini, section, "ignore_configured_endpoint_urls"));
	for (int s3 = 0; s3 <= 1; s3++) {
		const char *c = cfg ? (s3 ? cfg->endpoint_s3 : cfg->endpoint_sqs) : NULL;
		const char *what = s3 ? "s3 endpoint: " : "sqs endpoint: ";
		char **dst = s3 ? &conf->endpoint_s3 : &conf->endpoint_sqs;

		v = c && *c ? c : NULL;
		if (v == NULL && !ignore_ep) {
			v = env(s3 ? "AWS_ENDPOINT_URL_S3" : "AWS_ENDPOINT_URL_SQS");
			if (v == NULL)
				v = env("AWS_ENDPOINT_URL");
			if (v == NULL)
				v = tp__awsconf_ini_get(
				    ini, section, s3 ? "s3.endpoint_url" : "sqs.endpoint_url");
			if (v == NULL)
				v = tp__awsconf_ini_get(ini, section, "endpoint_url");
			if (v && *v == '\0')
				v = NULL;
		}
		if (v) {
			rc = set_endpoint(dst, v, what, err);
			if (rc)
				goto out;
			if (s3)
				conf->endpoint_s3_custom = 1;
			else
				conf->endpoint_sqs_custom = 1;
		} else {
			const char *suffix = strncmp(conf->region, "cn-", 3) == 0 ?
			    "amazonaws.com.cn" : "amazonaws.com";

			if (asprintf(dst, "https://%s.%s.%s", s3 ? "s3" : "sqs", conf->region,
			    suffix) < 0) {
				*dst = NULL;
				rc = sm_error_set(err, SM_ENOMEM, "out of memory");
				goto out;
			}
		}
	}

	/* plain http: loopback only, unless allowed explicitly */
	allow_http = (cfg != NULL && cfg->allow_insecure_http == 1) ||
	    ((v = env("SM_ALLOW_INSECURE_HTTP")) != NULL && strcmp(v, "1") == 0);
	for (int s3 = 0; s3 <= 1; s3++) {
		const char *ep = s3 ? conf->endpoint_s3 : conf->endpoint_sqs;

		if (strncasecmp(ep, "http://", 7) != 0 || tp__http_url_is_loopback(ep))
			continue;
		if (!allow_http) {
			rc = sm_error_set(err, SM_EINVAL, "%s endpoint \"%.200s\" is plain http to "
			    "a host that is not loopback: requests, signatures and session "
			    "tokens would cross the network unencrypted; use https://, or "
			    "allow it explicitly with SM_ALLOW_INSECURE_HTTP=1 "
			    "(tp_config.allow_insecure_http = 1) on a network you trust",
			    s3 ? "s3" : "sqs", ep);
			goto out;
		}
		sm_log_warn("%s endpoint '%.200s' is plain http to a host that is not "
		    "loopback (allowed by %s): requests and session tokens cross the "
		    "network unencrypted", s3 ? "s3" : "sqs", ep,
		    cfg != NULL && cfg->allow_insecure_http == 1 ?
		    "tp_config.allow_insecure_http" : "SM_ALLOW_INSECURE_HTTP=1");
	}

	/* S3 addressing */
	if (cfg && cfg->s3_path_style >= 0) {
		conf->s3_path_style = cfg->s3_path_style ? 1 : 0;
	} else if ((v = env("AWS_S3_FORCE_PATH_STYLE")) != NULL) {
		conf->s3_path_style = is_true(v) ? 1 : -1;
	} else if ((v = tp__awsconf_ini_get(ini, section, "s3.addressing_style")) != NULL) {
		if (strcasecmp(v, "path") == 0)
			conf->s3_path_style = 1;
		else if (strcasecmp(v, "virtual") == 0)
			conf->s3_path_style = 0;
		else if (strcasecmp(v, "auto") == 0 || *v == '\0')
			conf->s3_path_style = -1;
		else {
			rc = sm_error_set(err, SM_EINVAL,
			    "%s: [%s] s3 addressing_style \"%.32s\" is not path, virtual or auto",
			    cpath, section, v);
			goto out;
		}
	}

	/* attempts */
	src = "tp_config";
	if (cfg && cfg->max_attempts > 0) {
		conf->max_attempts = cfg->max_attempts;
	} else {
		v = env("AWS_MAX_ATTEMPTS");
		src = "AWS_MAX_ATTEMPTS";
		if (v == NULL && (v = tp__awsconf_ini_get(ini, section, "max_attempts")) != NULL)
			src = cpath;
		if (v) {
			char *e = NULL;
			long n;

			errno = 0;
			n = strtol(v, &e, 10);
			if (errno || e == v || *e != '\0' || n < 1 || n > 100) {
				rc = sm_error_set(err, SM_EINVAL,
				    "max attempts \"%.32s\" (from %s) is not a number in 1..100", v,
				    src);
				goto out;
			}
			conf->max_attempts = (int)n;
		} else {
			conf->max_attempts = 3;
		}
	}
	if (conf->max_attempts > 100) {
		rc = sm_error_set(err, SM_EINVAL, "max attempts %d is above 100",
		    conf->max_attempts);
		goto out;
	}

	/* CA bundle: a file of trusted CAs (checked when a request starts) */
	src = "AWS_CA_BUNDLE";
	if ((v = env("AWS_CA_BUNDLE")) == NULL &&
	    (v = tp__awsconf_ini_get(ini, section, "ca_bundle")) != NULL)
		src = cpath;
	if (v != NULL && *v != '\0') {
		if (access(v, R_OK) != 0) {
			rc = sm_error_set(err, SM_EINVAL,
			    "CA bundle '%.200s' (from %s) cannot be read: %s; give a PEM file",
			    v, src, strerror(errno));
			goto out;
		}
		if ((conf->ca_bundle = strdup(v)) == NULL) {
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	tp__awsconf_ini_free(ini);
	free(cpath);
	free(section);
	return rc;
}
