package main

import "syscall"

// sysProcAttr makes the kernel send the server SIGTERM if w1 dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
