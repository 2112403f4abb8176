// Healthcheck of the mongo container: initiates the single-node replica set "rs0" the first
// time it runs and then reports whether this node is the primary. Idempotent.
try {
  const status = rs.status();
  quit(status.myState === 1 ? 0 : 1);
} catch (e) {
  rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] });
  quit(1);
}
