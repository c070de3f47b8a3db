package benchkit

import "syscall"

// sysProcAttr makes the kernel send the server SIGTERM if the benchmark dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
