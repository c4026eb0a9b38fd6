package terraform

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts a process that planbot starts itself in its own
// process group, as tfexec does, and kills it if planbot dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// childGroups returns the process groups led by children of this process
// whose environment holds HOME=home. Every terraform process of one run
// gets a private HOME, so the marker names that run's processes and no
// other's.
//
// tfexec starts each terraform process in its own process group
// (cmd_linux.go sets Setpgid and Pdeathsig) but, when its context ends,
// it only interrupts the group leader and, after a delay, kills the
// leader: providers and anything else terraform started stay alive and
// keep its output pipes open. planbot therefore finds the group itself
// and signals all of it.
func childGroups(home string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	marker := []byte("HOME=" + home)
	var groups []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, pgrp, ok := readStat(pid)
		if !ok || ppid != self || pgrp != pid {
			continue
		}
		environ, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if bytes.Equal(kv, marker) {
				groups = append(groups, pid)
				break
			}
		}
	}
	return groups
}

// readStat returns the parent process ID and process group ID of pid
// from /proc/PID/stat.
func readStat(pid int) (ppid, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name in parentheses may contain spaces; the fields
	// after it are "state ppid pgrp ...".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	return ppid, pgrp, err1 == nil && err2 == nil
}
