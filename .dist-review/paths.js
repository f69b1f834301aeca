import path from 'node:path';
/**
 * Is `child` the directory `parent` or somewhere below it? Lexical: both are resolved (`.`, `..`,
 * trailing separators) but symlinks are not followed, so callers compare real paths when a link
 * could point elsewhere. Only a first segment that is exactly `..` leads out of `parent`: a
 * directory named `..state` or `...` inside it is still inside it.
 */
export function isWithin(child, parent) {
    const rel = path.relative(path.resolve(parent), path.resolve(child));
    if (rel === '')
        return true;
    if (path.isAbsolute(rel))
        return false;
    return rel !== '..' && !rel.startsWith(`..${path.sep}`);
}
//# sourceMappingURL=paths.js.map