// SPDX-License-Identifier: MIT
/* Talking to erouted: one JSON line out, one JSON line back. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

int
cli_connect(struct cli *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (c->fd >= 0)
		return CLI_OK;
	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "eroute: %s: socket path too long\n",
			c->socket);
		return CLI_ERROR;
	}
	strcpy(sa.sun_path, c->socket);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr,
			"eroute: cannot reach erouted at %s: %s\n"
			"eroute: is erouted running? (--socket or "
			"EROUTE_SOCKET choose another socket)\n",
			c->socket, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return CLI_ERROR;
	}
	return CLI_OK;
}

char *
cli_read_line(struct cli *c)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return NULL;
	for (;;) {
		char ch;
		ssize_t r = read(c->fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		if (ch == '\n')
			break;
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return buf;
}

static int
send_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, s, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

int
cli_call(struct cli *c, json_t *req, json_t **result)
{
	char *line, *text;
	json_t *ans, *err;
	json_error_t jerr;
	int ret = CLI_ERROR;

	*result = NULL;
	if (cli_connect(c) != CLI_OK) {
		json_decref(req);
		return CLI_ERROR;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL) {
		fprintf(stderr, "eroute: out of memory\n");
		return CLI_ERROR;
	}
	/* Refused (too many clients, out of descriptors), erouted says why
	 * in a line and hangs up, maybe before our request is sent: the
	 * line is read all the same. */
	if (send_all(c->fd, text, strlen(text)) < 0 ||
	    send_all(c->fd, "\n", 1) < 0) {
		int e = errno;

		line = cli_read_line(c);
		if (line == NULL) {
			fprintf(stderr, "eroute: cannot send to erouted: %s\n",
				strerror(e));
			free(text);
			return CLI_ERROR;
		}
	} else {
		line = cli_read_line(c);
	}
	free(text);
	if (line == NULL) {
		fprintf(stderr, "eroute: erouted closed the connection\n");
		return CLI_ERROR;
	}
	ans = json_loads(line, 0, &jerr);
	free(line);
	if (!json_is_object(ans)) {
		fprintf(stderr, "eroute: bad answer from erouted: %s\n",
			jerr.text);
		json_decref(ans);
		return CLI_ERROR;
	}
	if (json_is_true(json_object_get(ans, "ok"))) {
		*result = json_incref(json_object_get(ans, "result"));
		ret = CLI_OK;
	} else {
		err = json_object_get(ans, "error");
		fprintf(stderr, "eroute: %s\n",
			json_string_value(json_object_get(err, "message"))
				?: "error without a message");
	}
	json_decref(ans);
	return ret;
}

void
cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY |
				       JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
}

int
cli_query(struct cli *c, json_t *req, json_t **result)
{
	int ret = cli_call(c, req, result);

	if (ret == CLI_OK && c->json) {
		cli_print_json(*result);
		json_decref(*result);
		*result = NULL;
	}
	return ret;
}

int
cli_simple(struct cli *c, json_t *req, const char *done)
{
	json_t *res;
	int ret = cli_call(c, req, &res);

	if (ret != CLI_OK)
		return ret;
	if (c->json)
		cli_print_json(res);
	else if (done != NULL)
		puts(done);
	json_decref(res);
	return CLI_OK;
}

int
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("eroute: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'eroute --help'.\n", stderr);
	return CLI_USAGE;
}

const char *
cli_cell(json_t *v, char *buf, size_t len)
{
	if (v == NULL || json_is_null(v))
		return "-";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	return "?";
}

int
cli_packet_args(json_t *req, int argc, char **argv)
{
	char *end;

	if (argc < 2 || argc > 5)
		return cli_usage_error("expected SRC DST [PROTO [SPORT [DPORT]]]");
	json_object_set_new(req, "src", json_string(argv[0]));
	json_object_set_new(req, "dst", json_string(argv[1]));
	if (argc > 2)
		json_object_set_new(req, "proto", json_string(argv[2]));
	for (int i = 3; i < argc; i++) {
		long port = strtol(argv[i], &end, 10);

		if (*end != '\0' || port < 0 || port > 65535)
			return cli_usage_error("\"%s\": a port is 0-65535",
					       argv[i]);
		json_object_set_new(req, i == 3 ? "sport" : "dport",
				    json_integer(port));
	}
	return CLI_OK;
}
