"""Agent side of ``jenkins-slave``, the classic Jenkins charm's name for the relation.

The keys and their handling are those of ``jenkins_agent_v0`` (its README
lists both generations' keys): a charm that includes both layers gets the
same endpoint class under both interface names, so an endpoint of either
name relates to the matching upstream master.
"""

from relations.jenkins_agent_v0.provides import JenkinsAgentProvides

__all__ = ['JenkinsAgentProvides']
