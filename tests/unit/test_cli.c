/* The command line: the complete argv libxl 4.17 and master build
 * (docs/libxl-compat.md §1.3, §1.9 and the argv captured on
 * the real-Xen bed), the probe, the qtest form, and
 * a refusal for every option xsdm does not implement, naming the option and
 * what to configure instead. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "dm/core/config.h"
#include "tests/lib/ckrun.h"

#define MAXARGS 96

static struct xsdm_config cfg;
static char err[1024];

/* Parse a NULL-terminated list, argv[0] prepended. */
static int parse(const char *const *args)
{
    char *argv[MAXARGS];
    int argc = 0;

    argv[argc++] = "xsdm";
    while (*args && argc < MAXARGS - 1)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    cli_defaults(&cfg);
    err[0] = 0;
    return cli_parse(argc, argv, &cfg, err, sizeof(err));
}

/* Parse the words of one string (no quoting: test argv has no spaces in values). */
static int parse_str(const char *line)
{
    static char buf[4096];
    const char *args[MAXARGS];
    char *p, *save = NULL;
    int n = 0;

    snprintf(buf, sizeof(buf), "%s", line);
    for (p = strtok_r(buf, " \n", &save); p && n < MAXARGS - 1; p = strtok_r(NULL, " \n", &save))
        args[n++] = p;
    args[n] = NULL;
    return parse(args);
}

/* libxl 4.17, §1.9, without the devices xsdm refuses (tested below). */
static const char *const argv_417[] = {
    "-xen-domid", "5", "-no-shutdown",
    "-chardev", "socket,id=libxl-cmd,fd=4,server=on,wait=off", "-S",
    "-mon", "chardev=libxl-cmd,mode=control",
    "-chardev", "socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-5,server=on,wait=off",
    "-mon", "chardev=libxenstat-cmd,mode=control",
    "-nodefaults", "-no-user-config", "-name", "hvm1", "-vnc", "none", "-display", "none",
    "-serial", "pty", "-boot", "order=cda", "-smp", "2,maxcpus=2", "-net", "none",
    "-xen-domid-restrict", "-chroot", "/var/run/xen/qemu-root-5",
    "-machine", "xenfv,suppress-vmdesc=on", "-m", "1016",
    "-drive", "file=/srv/vm/hvm1.img,if=ide,index=0,media=disk,format=raw,cache=writeback",
    "-drive", "if=none,readonly=on,id=ide-5632,file=/srv/iso/inst.iso,format=raw",
    "-device", "ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0",
    "-runas", "131077:131072", NULL,
};

static void check_417_common(void)
{
    const struct chardev_spec *c;

    ck_assert_int_eq(cfg.domid, 5);
    ck_assert(cfg.no_shutdown);
    ck_assert(cfg.start_paused);
    ck_assert(cfg.domid_restrict);
    ck_assert_int_eq(cfg.accel, ACCEL_XEN);
    ck_assert(!cfg.probe);
    ck_assert(cfg.xen_platform);
    ck_assert_str_eq(cfg.name, "hvm1");
    ck_assert_str_eq(cfg.boot_order, "cda");
    ck_assert_int_eq(cfg.smp, 2);
    ck_assert_int_eq(cfg.maxcpus, 2);
    ck_assert_int_eq(cfg.ram_mb, 1016);
    ck_assert(cfg.acpi);
    ck_assert_int_eq(cfg.sandbox, SANDBOX_ON);
    ck_assert_int_eq(cfg.incoming_fd, -1);
    ck_assert_str_eq(cfg.chroot_dir, "/var/run/xen/qemu-root-5");
    ck_assert(cfg.have_runas);
    ck_assert_str_eq(cfg.runas, "131077:131072");

    ck_assert_int_eq(cfg.n_monitors, 2);
    ck_assert_str_eq(cfg.monitors[0].chardev, "libxl-cmd");
    ck_assert(cfg.monitors[0].control);
    ck_assert_str_eq(cfg.monitors[1].chardev, "libxenstat-cmd");
    c = cli_find_chardev(&cfg, "libxl-cmd");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->kind, CHARDEV_SOCKET);
    ck_assert_int_eq(c->fd, 4);
    ck_assert(c->server && !c->wait);
    ck_assert_str_eq(c->path, "");
    c = cli_find_chardev(&cfg, "libxenstat-cmd");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->fd, -1);
    ck_assert_str_eq(c->path, "/var/run/xen/qmp-libxenstat-5");

    ck_assert_int_eq(cfg.n_serials, 1);
    ck_assert_str_eq(cfg.serials[0].chardev, "serial0");
    c = cli_find_chardev(&cfg, "serial0");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->kind, CHARDEV_PTY);

    ck_assert(cfg.drives[0].present);
    ck_assert_int_eq(cfg.drives[0].media, MEDIA_DISK);
    ck_assert_str_eq(cfg.drives[0].file, "/srv/vm/hvm1.img");
    ck_assert(!cfg.drives[0].readonly);
    ck_assert_int_eq(cfg.drives[0].bus, 0);
    ck_assert_int_eq(cfg.drives[0].unit, 0);
    ck_assert(!cfg.drives[1].present);
    ck_assert(cfg.drives[2].present);
    ck_assert_int_eq(cfg.drives[2].media, MEDIA_CDROM);
    ck_assert_str_eq(cfg.drives[2].id, "ide-5632");
    ck_assert_str_eq(cfg.drives[2].file, "/srv/iso/inst.iso");
    ck_assert(cfg.drives[2].readonly);
    ck_assert_int_eq(cfg.drives[2].bus, 1);
    ck_assert_int_eq(cfg.drives[2].unit, 0);
    ck_assert(!cfg.drives[3].present);
}

START_TEST(libxl_417)
{
    ck_assert_msg(parse(argv_417) == 0, "%s", err);
    check_417_common();
}
END_TEST

START_TEST(libxl_master_run_with)
{
    const char *args[MAXARGS];
    int i, n = 0;

    /* Master: -chroot replaced in place, -runas at the end; two -run-with. */
    for (i = 0; argv_417[i]; i++) {
        if (!strcmp(argv_417[i], "-chroot")) {
            args[n++] = "-run-with";
            args[n++] = "chroot=/var/run/xen/qemu-root-5";
            i++;
        } else if (!strcmp(argv_417[i], "-runas")) {
            args[n++] = "-run-with";
            args[n++] = "user=131077:131072";
            i++;
        } else {
            args[n++] = argv_417[i];
        }
    }
    args[n] = NULL;
    ck_assert_msg(parse(args) == 0, "%s", err);
    check_417_common();
    /* A user name (xen-qemuuser-shared) is kept unresolved. */
    ck_assert_int_eq(parse_str("-xen-domid 1 -run-with user=xen-qemuuser-shared -run-with chroot=/r"), 0);
    ck_assert_str_eq(cfg.runas, "xen-qemuuser-shared");
    ck_assert_str_eq(cfg.chroot_dir, "/r");
    ck_assert_int_eq(parse_str("-xen-domid 1 -run-with chroot=/r,user=7:8,async-teardown=off"), 0);
    ck_assert_str_eq(cfg.runas, "7:8");
}
END_TEST

/* Real captures from the reference run (qemu-xen under dm_restrict). */
START_TEST(reference_s4_and_s5c)
{
    ck_assert_msg(parse_str(
        "-xen-domid 4 -no-shutdown -chardev socket,id=libxl-cmd,fd=14,server=on,wait=off -S "
        "-mon chardev=libxl-cmd,mode=control -chardev socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-4,"
        "server=on,wait=off -mon chardev=libxenstat-cmd,mode=control -nodefaults -no-user-config -name hvm2 "
        "-vnc none -display none -serial file:/var/log/xen/hvm2-serial.log -boot order=d -net none "
        "-xen-domid-restrict -chroot /var/run/xen/qemu-root-4 -machine xenfv,suppress-vmdesc=on -m 64 "
        "-drive if=none,readonly=on,id=ide-5632,file=/test/test.iso,format=raw "
        "-device ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0 -runas 131076:999") == 0, "%s", err);
    ck_assert_int_eq(cfg.domid, 4);
    ck_assert_int_eq(cfg.serials[0].chardev[0], 's');
    ck_assert_int_eq(cli_find_chardev(&cfg, "serial0")->kind, CHARDEV_FILE);
    ck_assert_str_eq(cli_find_chardev(&cfg, "serial0")->path, "/var/log/xen/hvm2-serial.log");
    ck_assert_str_eq(cfg.boot_order, "d");
    ck_assert(cfg.drives[2].present);
    ck_assert_str_eq(cfg.drives[2].file, "/test/test.iso");

    /* Restore of the ejected CD: no file, and no bus=/unit= either. The
     * drive must land where it was saved (hdc = index 2). */
    ck_assert_msg(parse_str(
        "-xen-domid 5 -no-shutdown -chardev socket,id=libxl-cmd,fd=15,server=on,wait=off -S "
        "-mon chardev=libxl-cmd,mode=control -nodefaults -no-user-config -name hvm2 -vnc none -display none "
        "-serial file:/var/log/xen/hvm2-serial.log -boot order=d -net none -xen-domid-restrict "
        "-chroot /var/run/xen/qemu-root-5 -incoming fd:16 -machine xenfv,suppress-vmdesc=on -m 64 "
        "-drive if=none,readonly=on,id=ide-5632 -device ide-cd,id=ide-5632,drive=ide-5632") == 0, "%s", err);
    ck_assert_int_eq(cfg.incoming_fd, 16);
    ck_assert(cfg.drives[2].present);
    ck_assert(!cfg.drives[0].present);
    ck_assert_str_eq(cfg.drives[2].file, "");
    ck_assert_int_eq(cfg.drives[2].media, MEDIA_CDROM);
    ck_assert_int_eq(cfg.drives[2].bus, 1);
}
END_TEST

START_TEST(probe)
{
    ck_assert_msg(parse_str("-S -no-user-config -nodefaults -nographic -machine none,accel=xen "
                            "-chardev socket,id=libxl-cmd,fd=9,server=on,wait=off "
                            "-mon chardev=libxl-cmd,mode=control") == 0, "%s", err);
    ck_assert(cfg.probe);
    ck_assert_int_eq(cfg.domid, -1);
    ck_assert_int_eq(cfg.n_monitors, 1);
}
END_TEST

START_TEST(qtest)
{
    ck_assert_msg(parse_str("-accel qtest -qtest unix:/tmp/q.sock -machine xenfv -m 64 -S") == 0, "%s", err);
    ck_assert_int_eq(cfg.accel, ACCEL_QTEST);
    ck_assert_str_eq(cfg.qtest_path, "/tmp/q.sock");
    ck_assert_int_eq(cfg.ram_mb, 64);
    /* -qtest alone selects the qtest accelerator, as in QEMU. */
    ck_assert_int_eq(parse_str("-qtest unix:/tmp/q"), 0);
    ck_assert_int_eq(cfg.accel, ACCEL_QTEST);
    ck_assert_int_eq(parse_str("-machine xenfv,accel=qtest -qtest unix:/tmp/q"), 0);
    ck_assert_int_eq(cfg.accel, ACCEL_QTEST);
    ck_assert_int_eq(parse_str("-accel accel=qtest -qtest unix:/tmp/q"), 0);
    ck_assert_int_eq(parse_str("-accel qtest"), -1);
    ck_assert_ptr_nonnull(strstr(err, "-qtest"));
    ck_assert_int_eq(parse_str("-accel xen -qtest unix:/tmp/q -xen-domid 1"), -1);
    ck_assert_int_eq(parse_str("-qtest tcp:localhost:1"), -1);
    /* Tests' guest-memory VRAM file: the qtest accelerator only. */
    ck_assert_msg(parse_str("-accel qtest,vram=/tmp/v -qtest unix:/tmp/q") == 0, "%s", err);
    ck_assert_str_eq(cfg.qtest_vram, "/tmp/v");
    ck_assert_int_eq(parse_str("-machine xenfv,accel=xen -accel xen,vram=/tmp/v -xen-domid 1"), -1);
    ck_assert_ptr_nonnull(strstr(err, "vram="));
}
END_TEST

START_TEST(sandbox)
{
    ck_assert_int_eq(parse_str("-xen-domid 1"), 0);
    ck_assert_int_eq(cfg.sandbox, SANDBOX_ON);
    ck_assert_int_eq(parse_str("-xen-domid 1 -sandbox off"), 0);
    ck_assert_int_eq(cfg.sandbox, SANDBOX_OFF);
    ck_assert_int_eq(parse_str("-xen-domid 1 -sandbox log"), 0);
    ck_assert_int_eq(cfg.sandbox, SANDBOX_LOG);
    ck_assert_int_eq(parse_str("-xen-domid 1 -sandbox on,obsolete=deny,elevateprivileges=allow,spawn=deny,"
                               "resourcecontrol=deny"), 0);
    ck_assert_int_eq(cfg.sandbox, SANDBOX_ON);
    ck_assert_int_eq(parse_str("-xen-domid 1 -sandbox enable=on,elevateprivileges=children"), 0);
    ck_assert_int_eq(parse_str("-xen-domid 1 -sandbox maybe"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -sandbox on,spawn=sometimes"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -sandbox on,bogus=1"), -1);
    ck_assert_ptr_nonnull(strstr(err, "bogus"));
    /* -confine: on unless turned off, independent of -sandbox */
    ck_assert_int_eq(parse_str("-xen-domid 1 -sandbox off"), 0);
    ck_assert(cfg.confine);
    ck_assert_int_eq(parse_str("-xen-domid 1 -confine off"), 0);
    ck_assert(!cfg.confine);
    ck_assert_int_eq(cfg.sandbox, SANDBOX_ON);
    ck_assert_int_eq(parse_str("-xen-domid 1 -confine on"), 0);
    ck_assert(cfg.confine);
    ck_assert_int_eq(parse_str("-xen-domid 1 -confine maybe"), -1);
    ck_assert_ptr_nonnull(strstr(err, "confine"));
}
END_TEST

START_TEST(serials_and_chardevs)
{
    const struct chardev_spec *c;

    ck_assert_msg(parse_str("-xen-domid 1 -serial none -serial pty -serial file:/tmp/s1 -serial null "
                            "-chardev pty,id=con -serial chardev:con") == 0, "%s", err);
    ck_assert_int_eq(cfg.n_serials, 4);
    ck_assert_str_eq(cfg.serials[0].chardev, "serial0");
    ck_assert_int_eq(cli_find_chardev(&cfg, "serial0")->kind, CHARDEV_PTY);
    ck_assert_int_eq(cli_find_chardev(&cfg, "serial1")->kind, CHARDEV_FILE);
    ck_assert_int_eq(cli_find_chardev(&cfg, "serial2")->kind, CHARDEV_NULL);
    ck_assert_str_eq(cfg.serials[3].chardev, "con");
    ck_assert_ptr_null(cli_find_chardev(&cfg, "nope"));

    ck_assert_msg(parse_str("-xen-domid 1 -chardev file,id=f,path=/tmp/a,,b,append=on "
                            "-chardev socket,id=s,path=/tmp/s,server=off -chardev null,id=n "
                            "-chardev socket,id=o,path=/tmp/o,server,nowait") == 0, "%s", err);
    c = cli_find_chardev(&cfg, "f");
    ck_assert_str_eq(c->path, "/tmp/a,b");
    ck_assert(c->append);
    c = cli_find_chardev(&cfg, "s");
    ck_assert(!c->server);
    c = cli_find_chardev(&cfg, "o");
    ck_assert(c->server && !c->wait);

    ck_assert_int_eq(parse_str("-xen-domid 1 -serial chardev:missing"), -1);
    ck_assert_ptr_nonnull(strstr(err, "missing"));
    ck_assert_int_eq(parse_str("-xen-domid 1 -chardev pty,id=a -chardev null,id=a"), -1);
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
    ck_assert_int_eq(parse_str("-xen-domid 1 -chardev pty"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -chardev socket,id=q,path=/x,server=on,wait=off "
                               "-mon chardev=q,mode=control -serial chardev:q"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -chardev pty,id=p -mon chardev=p,mode=control"), -1);
    ck_assert_ptr_nonnull(strstr(err, "listening"));
    ck_assert_int_eq(parse_str("-xen-domid 1 -mon chardev=ghost,mode=control"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -chardev socket,id=q,server=on"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -chardev socket,id=q,path=/x,fd=3"), -1);
}
END_TEST

START_TEST(machine_memory_smp)
{
    ck_assert_int_eq(parse_str("-xen-domid 1 -machine pc,accel=xen,suppress-vmdesc=on"), 0);
    ck_assert(!cfg.xen_platform);
    ck_assert_int_eq(parse_str("-xen-domid 1 -machine xenfv,suppress-vmdesc=on,max-ram-below-4g=2G"), 0);
    ck_assert_int_eq(cfg.max_ram_below_4g, 2ull << 30);
    ck_assert(cfg.xen_platform);
    ck_assert_int_eq(parse_str("-xen-domid 1 -M xenfv -m 2G"), 0);
    ck_assert_int_eq(cfg.ram_mb, 2048);
    ck_assert_int_eq(parse_str("-xen-domid 1 -m size=512M"), 0);
    ck_assert_int_eq(cfg.ram_mb, 512);
    ck_assert_int_eq(parse_str("-xen-domid 1 -smp 4"), 0);
    ck_assert_int_eq(cfg.smp, 4);
    ck_assert_int_eq(cfg.maxcpus, 4);
    ck_assert_int_eq(parse_str("-xen-domid 1 -smp cpus=2,maxcpus=8 -no-acpi --name x"), 0);
    ck_assert_int_eq(cfg.maxcpus, 8);
    ck_assert(!cfg.acpi);
    ck_assert_str_eq(cfg.name, "x");
    ck_assert_int_eq(parse_str("-xen-domid 1 -name guest=a,,b"), 0);
    ck_assert_str_eq(cfg.name, "a,b");

    ck_assert_int_eq(parse_str("-xen-domid 1 -m 0"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -m 1x"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -m 1500K"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -smp 0"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -smp 4,maxcpus=2"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -smp 2,sockets=2"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -boot order=cz"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -boot once=d"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 99999"), -1);
    ck_assert_int_eq(parse_str("-xen-domid x"), -1);
    ck_assert_int_eq(parse_str("-xen-domid"), -1);
    ck_assert_ptr_nonnull(strstr(err, "missing argument"));
    ck_assert_int_eq(parse_str("-no-shutdown"), -1);     /* xen without a domid */
    ck_assert_ptr_nonnull(strstr(err, "-xen-domid"));
}
END_TEST

START_TEST(drives)
{
    /* IDE disk by index, CD-ROM by if=ide, CD-ROM with bus/unit from the id. */
    ck_assert_msg(parse_str("-xen-domid 1 -drive file=/d1,if=ide,index=1,media=disk,format=raw,cache=writeback "
                            "-drive file=/c,if=ide,index=3,media=cdrom "
                            "-drive if=none,readonly=on,id=ide-768 -device ide-cd,id=ide-768,drive=ide-768")
                  == 0, "%s", err);
    ck_assert(cfg.drives[1].present);
    ck_assert_str_eq(cfg.drives[1].id, "ide0-hd1");
    ck_assert(cfg.drives[3].present);
    ck_assert_int_eq(cfg.drives[3].media, MEDIA_CDROM);
    ck_assert(cfg.drives[3].readonly);
    ck_assert(cfg.drives[0].present);
    ck_assert_str_eq(cfg.drives[0].id, "ide-768");

    ck_assert_int_eq(parse_str("-xen-domid 1 -drive file=/a,if=ide,index=0 -drive file=/b,if=ide,index=0"), -1);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    ck_assert_int_eq(parse_str("-xen-domid 1 -drive if=ide,index=0,media=disk"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -drive file=/a,if=ide,index=0,readonly=on"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -drive file=/a,if=ide,index=4"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -drive if=none,id=x,file=/a"), -1);
    ck_assert_ptr_nonnull(strstr(err, "not attached"));
    ck_assert_int_eq(parse_str("-xen-domid 1 -device ide-cd,id=y,drive=x"), -1);
    ck_assert_int_eq(parse_str("-xen-domid 1 -drive if=none,id=x -device ide-cd,drive=x,bus=ahci0.0"), -1);
    ck_assert_ptr_nonnull(strstr(err, "AHCI"));
    ck_assert_int_eq(parse_str("-xen-domid 1 -drive file=/a,if=ide,index=0,aio=native"), -1);
    ck_assert_ptr_nonnull(strstr(err, "aio"));
}
END_TEST

/* libxl's vif form (§1.3 row 26: -device before -netdev) and the fd form. */
START_TEST(nics)
{
    static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x12, 0x34, 0xab };

    ck_assert_msg(parse_str("-xen-domid 5 -device rtl8139,id=nic0,netdev=net0,mac=00:16:3e:12:34:AB "
                            "-netdev type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no "
                            "-device rtl8139,id=nic1,netdev=net1 -netdev tap,id=net1,fd=7") == 0, "%s", err);
    ck_assert_int_eq(cfg.n_nics, 2);
    ck_assert_int_eq(cfg.n_netdevs, 2);
    ck_assert_str_eq(cfg.nics[0].id, "nic0");
    ck_assert_str_eq(cfg.nics[0].netdev, "net0");
    ck_assert_mem_eq(cfg.nics[0].mac, mac, 6);
    ck_assert_uint_eq(cfg.nics[1].mac[0], 0x52);             /* QEMU's default, + index */
    ck_assert_uint_eq(cfg.nics[1].mac[5], 0x57);
    ck_assert_str_eq(cfg.netdevs[0].ifname, "vif5.0-emu");
    ck_assert_str_eq(cfg.netdevs[0].bridge, "xenbr0");
    ck_assert_int_eq(cfg.netdevs[0].fd, -1);
    ck_assert_str_eq(cfg.netdevs[1].ifname, "");
    ck_assert_int_eq(cfg.netdevs[1].fd, 7);
    ck_assert_ptr_nonnull(cli_find_netdev(&cfg, "net1"));
    ck_assert_int_eq(cfg.nics[0].model, NIC_RTL8139);
    /* model=e1000: the same form with the other driver. */
    ck_assert_msg(parse_str("-xen-domid 5 -device e1000,id=nic0,netdev=net0,mac=00:16:3e:12:34:AB "
                            "-netdev type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no") == 0,
                  "%s", err);
    ck_assert_int_eq(cfg.n_nics, 1);
    ck_assert_int_eq(cfg.nics[0].model, NIC_E1000);
    ck_assert_mem_eq(cfg.nics[0].mac, mac, 6);
    ck_assert_int_eq(parse_str("-xen-domid 5 -net none"), 0);
    ck_assert_int_eq(cfg.n_nics, 0);
}
END_TEST

struct refusal {
    const char *args;           /* appended to "-xen-domid 1" */
    const char *opt;            /* must appear in the message */
    const char *advice;         /* must appear too */
};

static void assert_refused(const struct refusal *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char line[1024];

        snprintf(line, sizeof(line), "-xen-domid 1 %s", r[i].args);
        ck_assert_msg(parse_str(line) == -1, "'%s' accepted", r[i].args);
        ck_assert_msg(strstr(err, r[i].opt) != NULL, "'%s': message '%s' does not name '%s'", r[i].args, err,
                      r[i].opt);
        ck_assert_msg(strstr(err, r[i].advice) != NULL, "'%s': message '%s' lacks '%s'", r[i].args, err,
                      r[i].advice);
    }
}

START_TEST(refusals)
{
    static const struct refusal r[] = {
        { "-device qxl-vga,vgamem_mb=8", "qxl-vga", "vga=\"stdvga\"" },
        { "-vga cirrus", "-vga", "vga=\"stdvga\"" },
        { "-device VGA -device cirrus-vga", "cirrus-vga", "only one graphics device" },
        { "-device VGA,vgamem_mb=0", "vgamem_mb", "vgamem_mb" },
        { "-device VGA,vgamem_mb=100000", "vgamem_mb", "vgamem_mb" },
        { "-device VGA,romfile=x", "romfile", "romfile" },
        { "-vnc 127.0.0.1:0,to=99", "-vnc", "vnc=0" },
        { "-display sdl", "-display", "sdl=0" },
        { "-sdl", "-sdl", "sdl=0" },
        { "-spice port=6000", "-spice", "spice=0" },
        { "-k en-us", "-k", "keymap" },
        { "-device qxl", "qxl", "<model type='vga'/>" },
        { "-vnc 127.0.0.1:0", "-vnc", "<graphics>" },
        { "-device lsi53c895a", "lsi53c895a", "bus='ide'" },
        { "-device usb-tablet", "usb-tablet", "model='none'" },
        { "-device AC97", "AC97", "<sound>" },
        { "-device ahci,id=ahci0", "ahci", "bus='ide'" },
        { "-device xen-pci-passthrough,hostaddr=0000:00:02.0", "xen-pci-passthrough", "<hostdev>" },
        { "-device virtserialport,chardev=c", "virtserialport", "<channel>" },
        { "-net nic", "-net", "-netdev tap" },
        { "-nic tap", "-nic", "-netdev tap" },
        { "-device e1000e,id=nic0", "e1000e", "model=e1000" },
        { "-device e1000e,id=nic0", "e1000e", "<model type='rtl8139'/>" },
        { "-device e1000,id=nic0,mac=00:16:3e:12:34:56", "e1000", "netdev=" },
        { "-net nic", "-net", "<interface>" },
        { "-device rtl8139,id=nic0,mac=00:16:3e:12:34:56", "rtl8139", "netdev=" },
        { "-device rtl8139,id=nic0,netdev=net0", "net0", "-netdev" },
        { "-device rtl8139,netdev=net0,mac=01:16:3e:12:34:56 -netdev tap,id=net0,fd=3", "mac", "multicast" },
        { "-device rtl8139,netdev=net0,mac=00:16:3e:12:34 -netdev tap,id=net0,fd=3", "mac", "xx:xx" },
        { "-device rtl8139,netdev=net0,mac=00:16:3e:12:34:56,vectors=3 -netdev tap,id=net0,fd=3", "vectors", "" },
        { "-netdev tap,id=net0,ifname=vif1.0-emu", "net0", "not used by any NIC" },
        { "-device rtl8139,netdev=net0 -netdev user,id=net0", "-netdev", "tap" },
        { "-device rtl8139,netdev=net0 -netdev tap,id=net0", "-netdev", "ifname= and fd=" },
        { "-device rtl8139,netdev=net0 -netdev tap,id=net0,ifname=a,fd=3", "-netdev", "ifname= and fd=" },
        { "-device rtl8139,netdev=net0 -netdev tap,id=net0,ifname=a,script=/etc/qemu-ifup", "script", "script=no" },
        { "-device rtl8139,netdev=net0 -netdev tap,id=net0,ifname=a,vhost=on", "vhost", "" },
        { "-device rtl8139,netdev=net0 -netdev tap,id=net0,ifname=0123456789abcdef", "interface name", "too long" },
        { "-device rtl8139,netdev=net0 -device rtl8139,netdev=net0 -netdev tap,id=net0,fd=3", "net0", "already used" },
        { "-drive file=/a.qcow2,if=ide,index=0,media=disk,format=qcow2,cache=writeback", "qcow2", "raw" },
        { "-drive file=/a.vhd,if=ide,index=0,media=disk,format=vpc", "vpc", "raw" },
        { "-drive file=/a,if=ide,index=0,cache=none", "cache", "writeback" },
        { "-device lsi53c895a", "lsi53c895a", "hd*" },
        { "-drive file=/a,id=scsi0-hd0,format=raw,if=none,cache=writeback -device scsi-hd,drive=scsi0-hd0",
          "scsi-hd", "SCSI" },
        { "-drive file=/a,if=scsi", "if=scsi", "SCSI" },
        { "-device ahci,id=ahci0", "ahci", "hdtype" },
        { "-usb", "-usb", "usb" },
        { "-usbdevice tablet", "-usbdevice", "usb" },
        { "-device piix3-usb-uhci,id=usb", "piix3-usb-uhci", "usbctrl" },
        { "-device AC97", "AC97", "soundhw" },
        { "-soundhw ac97", "-soundhw", "soundhw" },
        { "-kernel /boot/vmlinuz", "-kernel", "boot from a disk" },
        { "-initrd /boot/initrd", "-initrd", "boot from a disk" },
        { "-append console=ttyS0", "-append", "boot from a disk" },
        { "-xen-attach", "-xen-attach", "HVM" },
        { "-device xen-pvdevice,device-id=0xc000", "xen-pvdevice", "vendor_device" },
        { "-device xen-pci-passthrough,id=pci-pt-00_02.0,hostaddr=0000:00:02.0", "xen-pci-passthrough", "pci=" },
        { "-machine xenfv,igd-passthru=on", "igd-passthru", "gfx_passthru" },
        { "-machine q35", "q35", "xenfv" },
        { "-accel kvm", "kvm", "xen" },
        { "-enable-kvm", "-enable-kvm", "xen" },
        { "-incoming defer", "-incoming", "fd:" },
        { "-incoming tcp:0:4444", "-incoming", "fd:" },
        { "-serial stdio", "-serial", "pty" },
        { "-serial tcp:127.0.0.1:4555", "-serial", "pty" },
        { "-serial /dev/ttyS0", "-serial", "pty" },
        { "-chardev stdio,id=x", "stdio", "socket" },
        { "-chardev socket,id=x,host=127.0.0.1,port=4", "-chardev", "unix socket" },
        { "-chardev socket,id=x,path=/p,server=on,wait=on", "wait=on", "wait=off" },
        { "-chardev socket,id=m,path=/p,server=on,wait=off -mon chardev=m,mode=readline", "-mon", "mode=control" },
        { "-chardev socket,id=m,path=/p,server=on,wait=off -mon chardev=m", "-mon", "mode=control" },
        { "-run-with async-teardown=on", "async-teardown", "not supported" },
        { "-daemonize", "-daemonize", "libxl" },
        { "-device virtserialport,chardev=libxl-channel0", "virtserialport", "channel=" },
        { "-hda /a.img", "-hda", "not supported" },
        { "-global PIIX4_PM.disable_s3=1", "-global", "not supported" },
        { "-foo", "-foo", "not supported" },
        { "/path/to/disk.img", "disk.img", "bare" },
    };

    assert_refused(r, sizeof(r) / sizeof(r[0]));
}
END_TEST

/* Where the DM is confined, as whom, and for which domain must not depend on
 * which of two values wins (device_model_args follow libxl's own options):
 * a second, different value is refused; a repeated identical one is fine. */
START_TEST(conflicting_duplicates)
{
    static const struct refusal r[] = {
        { "-chroot /var/run/xen/qemu-root-5 -chroot /", "-chroot /", "already" },
        { "-run-with chroot=/a -chroot /b", "-chroot /b", "already '/a'" },
        { "-runas 131077:131072 -runas 0:0", "-runas 0:0", "already '131077:131072'" },
        { "-run-with user=131077:131072 -run-with user=root", "user=root", "give it once" },
        { "-xen-domid 2", "-xen-domid 2", "already 1" },
    };

    assert_refused(r, sizeof(r) / sizeof(r[0]));
    ck_assert_msg(parse_str("-xen-domid 1 -xen-domid 1 -chroot /a -run-with chroot=/a -runas 5:5 "
                            "-run-with user=5:5") == 0, "%s", err);
    ck_assert_str_eq(cfg.chroot_dir, "/a");
    ck_assert_str_eq(cfg.runas, "5:5");
}
END_TEST

/* Values longer than the config holds are refused, never truncated. */
START_TEST(overlong_values)
{
    static char line[4096], longv[1200];

    memset(longv, 'a', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = 0;
    snprintf(line, sizeof(line), "-xen-domid 1 -chroot /%s", longv);
    ck_assert_int_eq(parse_str(line), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
    snprintf(line, sizeof(line), "-xen-domid 1 -runas %.200s", longv);
    ck_assert_int_eq(parse_str(line), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
    snprintf(line, sizeof(line), "-xen-domid 1 -drive file=/%s,if=ide,index=0,media=disk,format=raw", longv);
    ck_assert_int_eq(parse_str(line), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

static int parse_with_device(const char *dev)
{
    const char *args[MAXARGS];
    int i, n = 0;

    for (i = 0; argv_417[i]; i++) {
        args[n++] = argv_417[i];
        if (!strcmp(argv_417[i], "pty")) {
            args[n++] = "-device";
            args[n++] = dev;
        }
    }
    args[n] = NULL;
    return parse(args);
}

/* The complete §1.9 argv with an emulated device xsdm does not have is
 * refused at it, naming it; with libxl's default cirrus-vga it is accepted
 * and served as the standard VGA with the VRAM asked for. */
START_TEST(full_example_refused)
{
    ck_assert_int_eq(parse_with_device("qxl-vga,vgamem_mb=8"), -1);
    ck_assert_ptr_nonnull(strstr(err, "-device qxl-vga,vgamem_mb=8"));
    ck_assert_int_eq(parse_with_device("cirrus-vga,vgamem_mb=8"), 0);
    ck_assert(cfg.display_device);
    ck_assert(cfg.vga_was_cirrus);
    ck_assert_uint_eq(cfg.vga_vram_mb, 8);
    ck_assert_int_eq(parse_with_device("VGA"), 0);
    ck_assert(!cfg.vga_was_cirrus);
    ck_assert_uint_eq(cfg.vga_vram_mb, 16);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");

    tcase_add_test(tc, libxl_417);
    tcase_add_test(tc, libxl_master_run_with);
    tcase_add_test(tc, reference_s4_and_s5c);
    tcase_add_test(tc, probe);
    tcase_add_test(tc, qtest);
    tcase_add_test(tc, sandbox);
    tcase_add_test(tc, serials_and_chardevs);
    tcase_add_test(tc, machine_memory_smp);
    tcase_add_test(tc, drives);
    tcase_add_test(tc, nics);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, conflicting_duplicates);
    tcase_add_test(tc, overlong_values);
    tcase_add_test(tc, full_example_refused);
    suite_add_tcase(s, tc);
    return ck_run_suite(s);
}
