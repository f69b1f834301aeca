import fs from 'node:fs';
import path from 'node:path';
/**
 * The platform packages npm installs beside `@github/copilot`, which hold the native binary: on
 * Linux the musl build comes first, as the launcher tries it first (npm installs only the one
 * that matches the libc).
 */
function platformPackages(platform, arch) {
    if (platform === 'linux')
        return [`copilot-linuxmusl-${arch}`, `copilot-linux-${arch}`];
    return [`copilot-${platform}-${arch}`];
}
/**
 * The native Copilot CLI behind `file`. `npm i -g @github/copilot` puts a Node launcher
 * (npm-loader.js) on PATH that runs the platform package's binary with spawnSync: a SIGINT to the
 * job ends the launcher at once, which orphans the binary and reports a signal instead of the
 * binary's own exit. So a launcher is swapped for the binary it would run, looked up where npm
 * puts it (nested for a global install, hoisted for a local one); anything else — the binary
 * itself, another install — is returned as it is.
 */
export function nativeCopilot(file, platform = process.platform, arch = process.arch) {
    let real;
    try {
        real = fs.realpathSync(file);
    }
    catch {
        return file;
    }
    if (path.basename(real) !== 'npm-loader.js')
        return file;
    const pkgDir = path.dirname(real);
    const exe = platform === 'win32' ? 'copilot.exe' : 'copilot';
    for (const name of platformPackages(platform, arch)) {
        for (const candidate of [path.join(pkgDir, 'node_modules', '@github', name, exe), path.join(pkgDir, '..', name, exe)]) {
            try {
                fs.accessSync(candidate, fs.constants.X_OK);
                if (fs.statSync(candidate).isFile())
                    return candidate;
            }
            catch {
                // Not installed there: try the next place.
            }
        }
    }
    return file;
}
/**
 * The version of the platform package holding the native binary, from its package.json: the
 * binary's own --version first unpacks 235 MB into the user's cache (seconds, on its first run).
 */
export function installedCopilotVersion(binary) {
    try {
        const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(fs.realpathSync(binary)), 'package.json'), 'utf8'));
        const { name, version } = (pkg ?? {});
        return typeof name === 'string' && name.startsWith('@github/copilot-') && typeof version === 'string' ? version : null;
    }
    catch {
        return null;
    }
}
//# sourceMappingURL=binary.js.map