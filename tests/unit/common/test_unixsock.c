/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/unixsock.h"

static char dir[64], path[96];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/unixsock.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

static bool can_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bool ok;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* A fresh path: listening, non-blocking, close-on-exec. */
static void test_listen(void **state)
{
	char err[128] = "";
	int fd = unix_listen(path, 4, err, sizeof(err));

	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(can_connect());
	close(fd);
	unlink(path);
}

/* A socket file nobody listens on is replaced; a live one is refused. */
static void test_stale_and_live(void **state)
{
	char err[128] = "";
	int fd = unix_listen(path, 4, err, sizeof(err)), fd2;

	assert_true(fd >= 0);
	fd2 = unix_listen(path, 4, err, sizeof(err));
	assert_int_equal(fd2, -EADDRINUSE);
	assert_non_null(strstr(err, "another process is listening there"));
	close(fd); /* the file stays behind, stale */
	assert_false(can_connect());
	fd2 = unix_listen(path, 4, err, sizeof(err));
	assert_true(fd2 >= 0);
	assert_true(can_connect());
	close(fd2);
	unlink(path);
}

/* A file that is not a socket is left alone; an overlong path is refused. */
static void test_refused(void **state)
{
	char err[128] = "", longp[200];
	struct stat st;
	int fd = open(path, O_CREAT | O_WRONLY, 0600);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(unix_listen(path, 4, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(unix_listen(longp, 4, err, sizeof(err)), -ENAMETOOLONG);
	assert_non_null(strstr(err, "longer than"));
}

/* Claiming a path for another binder: the same rules, plus the directory. */
static void test_claim(void **state)
{
	char err[128] = "", missing[128];
	struct stat st;
	int fd;

	assert_int_equal(unix_path_claim(path, err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), -1); /* nothing was made */
	fd = unix_listen(path, 4, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(unix_path_claim(path, err, sizeof(err)), -EADDRINUSE);
	assert_true(can_connect()); /* the live socket is untouched */
	close(fd);
	assert_int_equal(unix_path_claim(path, err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), -1); /* the stale file is gone */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(unix_path_claim(path, err, sizeof(err)), -EEXIST);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	snprintf(missing, sizeof(missing), "%s/no/s.sock", dir);
	assert_int_equal(unix_path_claim(missing, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/no: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_stale_and_live),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_claim),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
