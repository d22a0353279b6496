// A SCIM 2.0 service provider for syncd's tests: scimmy + scimmy-routers
// over an in-memory store. Settings come from the environment:
//   SCIM_PORT      port on 127.0.0.1 (0 = any free port; the port is printed)
//   SCIM_TOKEN     bearer token every request must carry
//   SCIM_SEED      optional JSON file {users: [...], groups: [...]} to preload
//   SCIM_MAX_PAGE  optional cap on itemsPerPage, whatever count the client asks
//   SCIM_LIE_TOTAL optional number added to every list's totalResults (a lying server)
//   SCIM_MAP       optional path of a JS module whose default export
//                  (kind, resource) => resource rewrites each listed
//                  resource after scimmy rendered it: the forms real providers
//                  send that scimmy itself never writes ($ref-only members,
//                  "active": "False")
import {randomUUID} from "node:crypto";
import {readFileSync} from "node:fs";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const env = process.env;
const token = env.SCIM_TOKEN ?? "";
const maxPage = Number(env.SCIM_MAX_PAGE ?? 0);
const lie = Number(env.SCIM_LIE_TOTAL ?? 0);
const rewrite = env.SCIM_MAP ? (await import(env.SCIM_MAP)).default : (kind, r) => r;
const stores = {User: new Map(), Group: new Map()};
let requests = 0;

if (env.SCIM_SEED) {
    const seed = JSON.parse(readFileSync(env.SCIM_SEED, "utf8"));
    for (const u of seed.users ?? []) stores.User.set(u.id, u);
    for (const g of seed.groups ?? []) stores.Group.set(g.id, g);
}

// handlers builds the ingress/egress/degress trio for one resource type.
function handlers(kind) {
    const store = stores[kind];
    const stamp = (r, created) => ({...r, meta: {created: created ?? new Date(), lastModified: new Date()}});
    return {
        ingress: (resource, instance) => {
            const id = resource.id ?? randomUUID();
            if (resource.id && !store.has(id)) throw new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);
            const {schemas, meta, ...data} = instance;
            const record = stamp({...data, id}, store.get(id)?.meta?.created);
            store.set(id, record);
            return record;
        },
        egress: (resource) => {
            if (resource.id) {
                const r = store.get(resource.id);
                if (!r) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
                return r;
            }
            const all = [...store.values()];
            return resource.filter ? resource.filter.match(all) : all;
        },
        degress: (resource) => {
            if (!store.delete(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        },
    };
}

SCIMMY.Resources.declare(SCIMMY.Resources.User, handlers("User"));
SCIMMY.Resources.declare(SCIMMY.Resources.Group, handlers("Group"));
SCIMMY.Config.set({patch: true, filter: 200, sort: true});

const app = express();
const authorized = (req) => token !== "" && req.header("Authorization") === `Bearer ${token}`;
app.use((req, res, next) => {
    if (req.path === "/_stats") return res.json({requests});
    requests++;
    next();
});

// Lists are paged here, in the store: scimmy's own list path builds every
// resource before slicing one page out, which is quadratic over a read.
// Filtering and attribute selection are still scimmy's.
app.get("/scim/v2/:type(Users|Groups)", (req, res, next) => {
    if (!authorized(req)) return next();
    try {
        const kind = req.params.type === "Users" ? "User" : "Group";
        const Resource = SCIMMY.Resources[kind];
        const query = {...req.query};
        for (const k of ["startIndex", "count"]) if (k in query) query[k] = Number(query[k]);
        const r = new Resource(query);
        const all = [...stores[kind].values()];
        const matched = r.filter ? r.filter.match(all) : all;
        const start = Math.max(r.constraints?.startIndex ?? 1, 1);
        let count = Math.max(r.constraints?.count ?? 20, 0);
        if (maxPage > 0) count = Math.min(count, maxPage);
        const page = matched.slice(start - 1, start - 1 + count)
            .map((x) => new SCIMMY.Schemas[kind](x, "out", `/scim/v2/${req.params.type}`, r.attributes))
            .map((x) => rewrite(kind, JSON.parse(JSON.stringify(x))));
        res.type("application/scim+json").send(JSON.stringify({
            schemas: [SCIMMY.Messages.ListResponse.id], Resources: page,
            totalResults: matched.length + lie, startIndex: start, itemsPerPage: page.length,
        }));
    } catch (ex) {
        res.status(ex.status ?? 400).type("application/scim+json").send(JSON.stringify(new SCIMMY.Messages.Error(ex)));
    }
});

app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (req) => {
        if (!authorized(req)) throw new Error("Invalid bearer token");
        return "syncd-test";
    },
}));

const server = app.listen(Number(env.SCIM_PORT ?? 0), "127.0.0.1", () => {
    console.log(`listening ${server.address().port}`);
});
