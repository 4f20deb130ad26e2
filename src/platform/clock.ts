/** What time it is, injected like the clients so tests can set it. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
