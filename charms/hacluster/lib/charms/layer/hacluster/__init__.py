"""The hacluster charm's logic: cluster membership, corosync, pacemaker, VIP checks."""
