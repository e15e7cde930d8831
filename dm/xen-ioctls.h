/* The ioctl requests the Xen accelerator (dm/accel-xen.c, through
 * libxendevicemodel, libxenforeignmemory and libxenevtchn) issues, split by
 * whether they happen after restriction. The seccomp allowlist
 * (restrict/seccomp.c) needs exactly XEN_IOCTLS_RESTRICTED; everything in
 * XEN_IOCTLS_SETUP_ONLY happens before the filter is loaded and must stay
 * forbidden afterwards. Values for x86_64 (Linux uapi xen/sys/*.h):
 *
 *   IOCTL_PRIVCMD_DM_OP            0x00105005  after: every xendevicemodel_* call
 *                                              (IRQ levels, PCI link routes, I/O
 *                                              range maps, shutdown, modified_memory)
 *   IOCTL_PRIVCMD_MMAPBATCH_V2     0x00205004  after: mapcache (xenforeignmemory_map2)
 *   IOCTL_EVTCHN_NOTIFY            0x00044504  after: answer a vCPU's ioreq
 *   IOCTL_PRIVCMD_MMAP_RESOURCE    0x00205007  setup: the ioreq server's pages
 *   IOCTL_EVTCHN_BIND_INTERDOMAIN  0x00084501  setup: each vCPU's port + buffered port
 *                                              (and the restriction self-check)
 *   IOCTL_PRIVCMD_RESTRICT         0x00025006  setup: xentoolcore_restrict_all
 *   IOCTL_EVTCHN_RESTRICT_DOMID    0x00024506  setup: xentoolcore_restrict_all
 *   IOCTL_PRIVCMD_HYPERCALL        0x00305000  setup: xc_interface_open's probe and
 *                                              libxencall; refused by the kernel
 *                                              once privcmd is restricted
 *
 * Event channel pending/unmask are read()/write() on the evtchn fd; foreign
 * maps also need mmap(PROT_READ|PROT_WRITE, MAP_SHARED) on the privcmd fd
 * and munmap. No header of this file is privileged: it only names numbers. */
#ifndef XSDM_XEN_IOCTLS_H
#define XSDM_XEN_IOCTLS_H

#include <sys/ioctl.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/privcmd.h>

#define XEN_IOCTLS_RESTRICTED \
    IOCTL_PRIVCMD_DM_OP, IOCTL_PRIVCMD_MMAPBATCH_V2, IOCTL_EVTCHN_NOTIFY

#define XEN_IOCTLS_SETUP_ONLY \
    IOCTL_PRIVCMD_MMAP_RESOURCE, IOCTL_EVTCHN_BIND_INTERDOMAIN, IOCTL_PRIVCMD_RESTRICT, \
    IOCTL_EVTCHN_RESTRICT_DOMID, IOCTL_PRIVCMD_HYPERCALL

#endif
