/* SPDX-License-Identifier: BSD-3-Clause */
#define LOG_COMPONENT "console"
#include "vmm/console.h"
#include "vmm/serial.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#define CTRL_A 0x01

struct vm_console {
	enum console_kind kind;
	int out_fd;
	bool owns_out;
	bool tty;
	bool raw;
	bool escape;
	bool watching;
	struct termios saved;
	uint64_t dropped;
};

int console_open(struct kvm_vm *vm, char *err, size_t err_len, int *out_fd)
{
	struct vm_console *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	c->kind = vm->cfg->console;
	c->out_fd = -1;
	switch (c->kind) {
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		break;
	case CONSOLE_FILE:
		c->out_fd = open(vm->cfg->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				 0644);
		if (c->out_fd < 0) {
			snprintf(err, err_len, "--console file:%s: %s", vm->cfg->console_path,
				 strerror(errno));
			free(c);
			return -errno;
		}
		c->owns_out = true;
		break;
	case CONSOLE_NONE:
		break;
	}
	vm->console = c;
	*out_fd = c->out_fd;
	return 0;
}

static void console_raw(struct vm_console *c)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &c->saved) < 0)
		return;
	t = c->saved;
	cfmakeraw(&t);
	/* Keep output post-processing so that log lines on stderr still start at column 0. */
	t.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		c->raw = true;
}

static void console_help(void)
{
	static const char help[] = "\r\nC-a h    print this help\r\n"
				   "C-a x    stop the VM and exit\r\n"
				   "C-a C-a  send C-a to the guest\r\n";
	int r = write_full(STDERR_FILENO, help, sizeof(help) - 1);
	(void)r;
}

static void console_input(int fd, uint32_t events, void *opaque)
{
	struct kvm_vm *vm = opaque;
	struct vm_console *c = vm->console;
	uint8_t buf[512], out[512];
	size_t n_out = 0;
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF or error: stop reading; the guest keeps running. */
		evloop_del_fd(vm->loop, fd);
		c->watching = false;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t ch = buf[i];
		if (c->tty && c->escape) {
			c->escape = false;
			if (ch == 'x' || ch == 'X') {
				vm_request_stop(vm, NFV_EXIT_OK, "stopped from the console (C-a x)");
				return;
			}
			if (ch == 'h' || ch == 'H' || ch == '?') {
				console_help();
				continue;
			}
			if (ch != CTRL_A)
				continue;
		} else if (c->tty && ch == CTRL_A) {
			c->escape = true;
			continue;
		}
		out[n_out++] = ch;
	}
	if (n_out) {
		size_t took = serial_receive(vm->com1, out, n_out);
		if (took < n_out) {
			c->dropped += n_out - took;
			log_warn_rl("guest is not reading its console: %zu input bytes dropped",
				    n_out - took);
		}
	}
}

int console_start(struct kvm_vm *vm)
{
	struct vm_console *c = vm->console;
	int ret;

	if (!c || c->kind != CONSOLE_STDIO)
		return 0;
	c->tty = isatty(STDIN_FILENO);
	if (c->tty) {
		console_raw(c);
		log_info("console on this terminal: C-a x to quit, C-a h for help");
	}
	/*
	 * stdin stays blocking: it may share its open file description with
	 * stdout (one terminal), and a non-blocking stdout would make COM1 output
	 * fail with EAGAIN. epoll says when a read will not block.
	 */
	ret = evloop_add_fd(vm->loop, STDIN_FILENO, EPOLLIN, console_input, vm);
	if (ret == -EPERM || ret == -EBADF)
		return 0; /* stdin is a regular file, /dev/null or closed: no input */
	if (ret == 0)
		c->watching = true;
	return ret;
}

void console_close(struct kvm_vm *vm)
{
	struct vm_console *c = vm->console;

	if (!c)
		return;
	if (c->watching)
		evloop_del_fd(vm->loop, STDIN_FILENO);
	if (c->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
	if (c->owns_out)
		close(c->out_fd);
	free(c);
	vm->console = NULL;
}
