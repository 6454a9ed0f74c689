/*
 * bench_http_bare - the yardstick for tests/bench/bench_http.sh: a bare
 * libmicrohttpd server that answers every request with a small constant
 * JSON body, configured like orchestrator/http/httpd.c (internal thread pool,
 * epoll when available).  What ringmaster adds on top of it (routing,
 * auth, JSON, the store) is the difference the benchmark reports.
 *
 *	bench_http_bare PORT [THREADS]
 *
 * Runs until SIGTERM/SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#if MHD_VERSION < 0x00097002
#define MHD_RESULT int
#else
#define MHD_RESULT enum MHD_Result
#endif

static const char body[] =
    "{\"name\":\"bench\",\"storage\":{\"url\":\"file:///tmp/bench\"},"
    "\"nodes_up\":1,\"nodes_down\":0,\"queue_depth\":0,\"running_task\":null}";

static struct MHD_Response *resp;
static volatile sig_atomic_t stop;

static MHD_RESULT answer(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		/* The usual pattern: answer on the second call (see httpd.c). */
		*con_cls = conn;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	return MHD_queue_response(conn, MHD_HTTP_OK, resp);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	int port, threads;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_http_bare PORT [THREADS]\n");
		return 2;
	}
	port = atoi(argv[1]);
	threads = argc > 2 ? atoi(argv[2]) : 2;
	resp = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, answer, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
	    MHD_OPTION_CONNECTION_LIMIT, 20000U,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bench_http_bare: cannot listen on port %d\n",
		    port);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	MHD_destroy_response(resp);
	return 0;
}
