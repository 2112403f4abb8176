// Healthcheck of the mongo container: initiates the three-member replica set "rs0" the
// first time it runs and then reports whether the set has a primary (any member). Idempotent.
try {
  const status = rs.status();
  quit(status.members.some((m) => m.stateStr === "PRIMARY") ? 0 : 1);
} catch (e) {
  rs.initiate({
    _id: "rs0",
    members: [
      { _id: 0, host: "mongo:27017", priority: 2 },
      { _id: 1, host: "mongo-2:27017", priority: 1 },
      { _id: 2, host: "mongo-3:27017", priority: 1 },
    ],
  });
  quit(1);
}
