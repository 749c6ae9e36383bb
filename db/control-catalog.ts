/**
 * The control catalog: every row of the product description's "List of
 * Controls Supported by Vulnerability Scan Report Fetchers" table, with the
 * framework, code, name and description copied from it. Framework names fix
 * the source's typos (HIPPA, CS CCM, NIST 800r4) and spell frameworks the way
 * they are known; codes are kept exactly. Descriptions keep the source's
 * paragraphs.
 *
 * Cadence is the evidence frequency the framework itself demands, where it
 * names one: PCI DSS 11.2.x quarterly, FedRAMP RA-5 monthly, CIS 4.1 (v6.1)
 * and 3.1 (v7) weekly. Other controls leave the frequency to the organisation.
 *
 * Current framework versions follow the product's list, each linked to the
 * control it succeeds (`succeeds`), so a fetcher mapped to an old control
 * can be moved to the new ones in one call (POST /v1/fetchers/{id}/controls/upgrade).
 *
 * `openDatabase` seeds the catalog after migrating, so every database has it;
 * `seedControls` is idempotent and also exported for tools that need it.
 */
import { sql } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { controls, type ControlCadence } from './schema.js';

export const FRAMEWORKS = {
  SOC2: "SOC 2 (2017)",
  CIS_V6_1: "CIS CSC v6.1",
  CIS_V7: "CIS CSC v7",
  CSA_CCM: "CSA CCM v3.0.1",
  NIST_800_53: "NIST SP 800-53 r4",
  NIST_800_171: "NIST SP 800-171 r1",
  NIST_CSF: "NIST CSF v1.1",
  OWASP_2017: "OWASP Top 10 (2017)",
  PCI_DSS: "PCI DSS v3.2.1",
  SWIFT_CSF: "SWIFT CSF (2019)",
  FEDRAMP_MODERATE: "FedRAMP Moderate",
  FFIEC: "FFIEC",
  MITRE_ATTACK: "MITRE ATT&CK",
  HIPAA: "HIPAA",
  PCI_DSS_4: "PCI DSS v4.0.1",
  NIST_800_53_R5: "NIST SP 800-53 r5",
  NIST_800_171_R3: "NIST SP 800-171 r3",
  NIST_CSF_2: "NIST CSF 2.0",
  CIS_V8_1: "CIS Controls v8.1",
  FEDRAMP_REV5: "FedRAMP Rev 5",
} as const;

export type Framework = (typeof FRAMEWORKS)[keyof typeof FRAMEWORKS];

export interface CatalogControl {
  framework: Framework;
  code: string;
  name: string;
  description: string;
  cadence: ControlCadence | null;
  /** The control of an earlier framework version this one replaces, as [framework, code]. */
  succeeds?: readonly [Framework, string];
}

const paragraphs = (...parts: string[]) => parts.join('\n\n');

export const CONTROL_CATALOG: readonly CatalogControl[] = [
  {
    framework: FRAMEWORKS.SOC2,
    code: "CC7.1",
    name: "System Operations",
    description: paragraphs(
      "To meet its objectives, the entity uses detection and monitoring procedures to identify:",
      "(1) changes to configurations that result in the introduction of new vulnerabilities, and",
      "(2) susceptibilities to newly discovered vulnerabilities.",
      "The following points of focus, specifically related to all engagements using the trust services criteria, highlight important characteristics relating to this criterion:",
      "Uses defined Configuration Standards - Management has defined configuration standards.",
      "Monitors Infrastructure and Software - The entity monitors infrastructure and software for noncompliance with the standards, which could threaten the achievement of the entity's objectives Implements.",
      "Change-Detection Mechanisms - The IT system includes a change-detection mechanism (for example, file integrity monitoring tools) to alert personnel to unauthorized modifications of critical system files, configuration files, or content files.",
      "Detects Unknown or Unauthorized Components - Procedures are in place to detect the introduction of unknown or unauthorized components.",
      "Conducts Vulnerability Scans - The entity conducts vulnerability scans designed to identify potential vulnerabilities or misconfigurations on a periodic basis and after any significant change in the environment and takes action to remediate identified deficiencies on a timely basis.",
    ),
    cadence: null,
  },
  {
    framework: FRAMEWORKS.CIS_V6_1,
    code: "4.1",
    name: "Continuous Vulnerability Assessment and Remediation",
    description: "Run automated vulnerability scanning tools against all systems on the network on a weekly or more frequent basis and deliver prioritized lists of the most critical vulnerabilities to each responsible system administrator along with risk scores that compare the effectiveness of system administrators and departments in reducing risk. Use a SCAP-validated vulnerability scanner that looks for both code-based vulnerabilities (such as those described by Common Vulnerabilities and Exposures entries) and configuration-based vulnerabilities (as enumerated by the Common Configuration Enumeration Project).",
    cadence: "weekly",
  },
  {
    framework: FRAMEWORKS.CIS_V7,
    code: "3.1",
    name: "Continuous Vulnerability Management",
    description: "Establish standard secure configurations of your operating systems and software applications. Standardized images should represent hardened versions of the underlying operating system and the applications installed on the system. These images should be validated and refreshed on a regular basis to update their security configuration in light of recent vulnerabilities and attack vectors.",
    cadence: "weekly",
  },
  {
    framework: FRAMEWORKS.CIS_V7,
    code: "3.2",
    name: "Continuous Vulnerability Management",
    description: "Follow strict configuration management, building a secure image that is used to build all new systems that are deployed in the enterprise. Any existing system that becomes compromised should be re-imaged with the secure build. Regular updates or exceptions to this image should be integrated into the organization’s change management processes. Images should be created for workstations, servers, and other system types used by the organization.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.CIS_V7,
    code: "9.3",
    name: "Limitation and Control of Network Ports, Protocols, and Services",
    description: "Perform automated port scans on a regular basis against all key servers and compared to a known effective baseline. If a change that is not listed on the organization’s approved baseline is discovered, an alert should be generated and reviewed.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.CIS_V7,
    code: "12.2",
    name: "Boundary Defense",
    description: "On DMZ networks, configure monitoring systems (which may be built in to the IDS sensors or deployed as a separate technology) to record at least packet header information, and preferably full packet header and payloads of the traffic destined for or passing through the network border. This traffic should be sent to a properly configured Security Information Event Management (SIEM) or log analytics system so that events can be correlated from all devices on the network.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.CSA_CCM,
    code: "IVS-05",
    name: "Management - Vulnerability Management",
    description: "Implementers shall ensure that the security vulnerability assessment tools or services accommodate the virtualization technologies used (e.g. virtualization aware).",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.NIST_800_53,
    code: "RA-5",
    name: "Vulnerability Scanning",
    description: "The organization:\n- Scans for vulnerabilities in the information system and hosted applications [Assignment: organization-defined frequency and/or randomly in accordance with organization-defined process] and when new vulnerabilities potentially affecting the system/applications are identified and reported;\n- Employs vulnerability scanning tools and techniques that facilitate interoperability among tools and automate parts of the vulnerability management process by using standards for:\n- Enumerating platforms, software flaws, and improper configurations;\n- Formatting checklists and test procedures; and\n- Measuring vulnerability impact;\n- Analyzes vulnerability scan reports and results from security control assessments;\n- Remediates legitimate vulnerabilities [Assignment: organization-defined response times] in accordance with an organizational assessment of risk; and\n- Shares information obtained from the vulnerability scanning process and security control assessments with [Assignment: organization-defined personnel or roles] to help eliminate similar vulnerabilities in other information systems (i.e., systemic weaknesses or deficiencies.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.NIST_800_171,
    code: "3.11.2",
    name: "Risk Assessment",
    description: "Scan for vulnerabilities in organizational systems and applications periodically and when new vulnerabilities affecting those systems and applications are identified.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.NIST_800_171,
    code: "3.11.3",
    name: "Risk Assessment",
    description: "Remediate vulnerabilities in accordance with assessments of risk.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.NIST_CSF,
    code: "DE.CM-8",
    name: "Security Continuous Monitoring",
    description: "Vulnerability scans are performed.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.OWASP_2017,
    code: "A6",
    name: "Security Misconfigurations",
    description: "Security misconfiguration is the most commonly seen issue. This is commonly a result of insecure default configurations, incomplete or ad hoc configurations, open cloud storage, misconfigured HTTP headers, and verbose error messages containing sensitive information. Not only must all operating systems, frameworks, libraries, and applications be securely configured, but they must be patched and upgraded in a timely fashion.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.OWASP_2017,
    code: "A9",
    name: "Using Components with Known Vulnerabilities",
    description: "Components, such as libraries, frameworks, and other software modules, run with the same privileges as the application. If a vulnerable component is exploited, such an attack can facilitate serious data loss or server takeover. Applications and APIs using components with known vulnerabilities may undermine application defenses and enable various attacks and impacts.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.PCI_DSS,
    code: "11.2",
    name: "Network Vulnerability Scans",
    description: paragraphs(
      "Run internal and external network vulnerability scans at least quarterly and after any significant change in the network (such as new system component installations, changes in network topology, firewall rule modifications, product upgrades).",
      "Note: Multiple scan reports can be combined for the quarterly scan process to show that all systems were scanned and all applicable vulnerabilities have been addressed. Additional documentation may be required to verify non-remediated vulnerabilities are in the process of being addressed.",
      "For initial PCI DSS compliance, it is not required that four quarters of passing scans be completed if the assessor verifies",
      "1) the most recent scan result was a passing scan,",
      "2) the entity has documented policies and procedures requiring quarterly scanning, and",
      "3) vulnerabilities noted in the scan results have been corrected as shown in a re-scan(s). For subsequent years after the initial PCI DSS review, four quarters of passing scans must have occurred.",
    ),
    cadence: "quarterly",
  },
  {
    framework: FRAMEWORKS.PCI_DSS,
    code: "11.2.1",
    name: "Internal Vulnerability Scans",
    description: "11.2.1 Perform quarterly internal vulnerability scans. Address vulnerabilities and perform rescans to verify all “high risk\" vulnerabilities are resolved in accordance with the entity's vulnerability ranking (per Requirement 6.1). Scans must be performed by qualified personnel.",
    cadence: "quarterly",
  },
  {
    framework: FRAMEWORKS.PCI_DSS,
    code: "11.2.2",
    name: "External Vulnerability Scans",
    description: paragraphs(
      "11.2.2 Perform quarterly external vulnerability scans, via an Approved Scanning Vendor (ASV) approved by the Payment Card Industry Security Standards Council (PCI SSC). Perform rescans as needed, until passing scans are achieved.",
      "Note: Quarterly external vulnerability scans must be performed by an Approved Scanning Vendor (ASV), approved by the Payment Card Industry Security Standards Council (PCI SSC).  Refer to the ASV Program Guide published on the PCI SSC website for scan customer responsibilities, scan preparation, etc.\"",
    ),
    cadence: "quarterly",
  },
  {
    framework: FRAMEWORKS.PCI_DSS,
    code: "11.2.3",
    name: "Internal & External Vulnerability Scans after Changes",
    description: "11.2.3 Perform internal and external scans, and rescans as needed, after any significant change. Scans must be performed by qualified personnel.",
    cadence: "quarterly",
  },
  {
    framework: FRAMEWORKS.SWIFT_CSF,
    code: "2.7",
    name: "Vulnerability Scanning",
    description: "Identify known vulnerabilities within the local SWIFT environment by implementing a regular vulnerability scanning process and act upon results.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.FEDRAMP_MODERATE,
    code: "RA-5",
    name: "Vulnerability Scanning",
    description: paragraphs(
      "The organization:\na. Scans for vulnerabilities in the information system and hosted applications [FedRAMP Assignment: monthly operating system/infrastructure; monthly web applications and databases] and when new vulnerabilities potentially affecting the system/applications are identified and reported;\nRA-5 (a) Additional FedRAMP Requirements and Guidance; an accredited independent assessor scans operating systems/infrastructure, web applications, and databases once annually.\nb. Employs vulnerability scanning tools and techniques that facilitate interoperability among tools and automate parts of the vulnerability management process by using standards for:\n1. Enumerating platforms, software flaws, and improper configurations;\n2. Formatting checklists and test procedures; and\n3. Measuring vulnerability impact;\nc. Analyzes vulnerability scan reports and results from security control assessments;\nd. Remediates legitimate vulnerabilities; [FedRAMP Assignment: high-risk vulnerabilities mitigated within thirty (30) days from date of discovery; moderate risk vulnerabilities mitigated within ninety (90) days from date of discovery], in accordance with an organizational assessment of risk; and\ne. Shares information obtained from the vulnerability scanning process and security control assessments with [Assignment: organization-defined personnel or roles] to help eliminate similar vulnerabilities in other information systems (i.e., systemic weaknesses or deficiencies).",
      "RA-5 (e) Additional FedRAMP Requirements and Guidance: to include the Risk Executive; for JAB authorizations to include FedRAMP Common Vulnerability Scoring System (CVSS). Related controls: CA-2, CA-7, CM-4, CM-6, RA-2, RA-3, SA-11, SI-2.",
      "References: NIST Special Publications 800-40, 800-70, 800-115; Web: http://cwe.mitre.org, http://nvd.nist.gov.",
    ),
    cadence: "monthly",
  },
  {
    framework: FRAMEWORKS.FFIEC,
    code: "Category 17",
    name: "Threat and Vulnerability Detection",
    description: "Independent testing (including penetration testing and vulnerability scanning) is conducted according to the risk assessment for external- facing systems and the internal network. (FFIEC Information Security Booklet, page 61)",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.MITRE_ATTACK,
    code: "M1016",
    name: "Vulnerability Scanning",
    description: "Vulnerability scanning is used to find potentially exploitable software vulnerabilities to remediate them.",
    cadence: null,
  },
  {
    framework: FRAMEWORKS.HIPAA,
    code: "164.308(a)(1)(ii)(A)",
    name: "Risk Management",
    description: "Conduct an accurate and thorough assessment of the potential risks and vulnerabilities to the confidentiality, integrity, and availability of electronic protected health information held by the covered entity or business associate.",
    cadence: null,
  },

  // Current versions of the frameworks above, each linked to the control it succeeds. Descriptions
  // summarise the requirement; the framework documents hold the authoritative text.
  {
    framework: FRAMEWORKS.PCI_DSS_4,
    code: "11.3.1",
    name: "Internal vulnerability scans",
    description: "Internal vulnerability scans are performed at least once every three months; high-risk and critical vulnerabilities (per the entity's risk rankings, requirement 6.3.1) are resolved and rescans confirm it; scans are performed by qualified personnel with organizational independence.",
    cadence: "quarterly",
    succeeds: [FRAMEWORKS.PCI_DSS, "11.2.1"],
  },
  {
    framework: FRAMEWORKS.PCI_DSS_4,
    code: "11.3.1.1",
    name: "Other applicable vulnerabilities",
    description: "All other applicable vulnerabilities (those not ranked high-risk or critical) are managed based on the risk defined in the entity's targeted risk analysis, and rescans are conducted as needed.",
    cadence: "quarterly",
    succeeds: [FRAMEWORKS.PCI_DSS, "11.2.1"],
  },
  {
    framework: FRAMEWORKS.PCI_DSS_4,
    code: "11.3.1.2",
    name: "Authenticated internal scans",
    description: "Internal vulnerability scans are performed via authenticated scanning, with sufficient privileges; systems that cannot accept credentials are documented, and credentials are protected.",
    cadence: "quarterly",
    succeeds: [FRAMEWORKS.PCI_DSS, "11.2.1"],
  },
  {
    framework: FRAMEWORKS.PCI_DSS_4,
    code: "11.3.1.3",
    name: "Internal scans after significant change",
    description: "Internal vulnerability scans are performed after any significant change; high-risk and critical vulnerabilities are resolved and rescans confirm it.",
    cadence: "quarterly",
    succeeds: [FRAMEWORKS.PCI_DSS, "11.2.3"],
  },
  {
    framework: FRAMEWORKS.PCI_DSS_4,
    code: "11.3.2",
    name: "External vulnerability scans",
    description: "External vulnerability scans are performed at least once every three months by a PCI SSC Approved Scanning Vendor (ASV); vulnerabilities are resolved and ASV Program Guide requirements for a passing scan are met, with rescans as needed.",
    cadence: "quarterly",
    succeeds: [FRAMEWORKS.PCI_DSS, "11.2.2"],
  },
  {
    framework: FRAMEWORKS.PCI_DSS_4,
    code: "11.3.2.1",
    name: "External scans after significant change",
    description: "External vulnerability scans are performed after any significant change; vulnerabilities scored 4.0 or higher by the CVSS are resolved and rescans are conducted as needed.",
    cadence: "quarterly",
    succeeds: [FRAMEWORKS.PCI_DSS, "11.2.3"],
  },
  {
    framework: FRAMEWORKS.NIST_800_53_R5,
    code: "RA-5",
    name: "Vulnerability Monitoring and Scanning",
    description: "Monitor and scan for vulnerabilities in the system and hosted applications at an organization-defined frequency and when new vulnerabilities are identified; analyze scan reports; remediate legitimate vulnerabilities in organization-defined response times; share information; employ tools that can update the vulnerabilities scanned.",
    cadence: null,
    succeeds: [FRAMEWORKS.NIST_800_53, "RA-5"],
  },
  {
    framework: FRAMEWORKS.NIST_800_53_R5,
    code: "RA-5(2)",
    name: "Update Vulnerabilities to Be Scanned",
    description: "Update the system vulnerabilities to be scanned at an organization-defined frequency, prior to a new scan, and when new vulnerabilities are identified and reported.",
    cadence: null,
    succeeds: [FRAMEWORKS.NIST_800_53, "RA-5"],
  },
  {
    framework: FRAMEWORKS.NIST_800_53_R5,
    code: "RA-5(5)",
    name: "Privileged Access",
    description: "Implement privileged access authorization to organization-defined system components for organization-defined vulnerability scanning activities.",
    cadence: null,
    succeeds: [FRAMEWORKS.NIST_800_53, "RA-5"],
  },
  {
    framework: FRAMEWORKS.NIST_800_171_R3,
    code: "03.11.02",
    name: "Vulnerability Monitoring and Scanning",
    description: "Monitor and scan the system for vulnerabilities periodically and when new vulnerabilities affecting it are identified; remediate system vulnerabilities within organization-defined response times; update the vulnerabilities to be scanned. Incorporates r1 3.11.2 and 3.11.3.",
    cadence: null,
    succeeds: [FRAMEWORKS.NIST_800_171, "3.11.2"],
  },
  {
    framework: FRAMEWORKS.NIST_CSF_2,
    code: "ID.RA-01",
    name: "Risk Assessment",
    description: "Vulnerabilities in assets are identified, validated, and recorded (takes over v1.1 DE.CM-8, vulnerability scans are performed).",
    cadence: null,
    succeeds: [FRAMEWORKS.NIST_CSF, "DE.CM-8"],
  },
  {
    framework: FRAMEWORKS.CIS_V8_1,
    code: "7.5",
    name: "Perform Automated Vulnerability Scans of Internal Enterprise Assets",
    description: "Perform automated vulnerability scans of internal enterprise assets on a quarterly, or more frequent, basis, both authenticated and unauthenticated, using a SCAP-compliant tool.",
    cadence: "quarterly",
    succeeds: [FRAMEWORKS.CIS_V7, "3.1"],
  },
  {
    framework: FRAMEWORKS.CIS_V8_1,
    code: "7.6",
    name: "Perform Automated Vulnerability Scans of Externally-Exposed Enterprise Assets",
    description: "Perform automated vulnerability scans of externally-exposed enterprise assets on a monthly, or more frequent, basis, using a SCAP-compliant tool.",
    cadence: "monthly",
    succeeds: [FRAMEWORKS.CIS_V7, "3.1"],
  },
  {
    framework: FRAMEWORKS.FEDRAMP_REV5,
    code: "RA-5",
    name: "Vulnerability Monitoring and Scanning",
    description: "NIST SP 800-53 r5 RA-5 with the FedRAMP Rev 5 baselines' parameters: operating systems, web applications and databases scanned at least monthly; high-risk vulnerabilities remediated within thirty days, moderate within ninety, low within one hundred eighty, from discovery.",
    cadence: "monthly",
    succeeds: [FRAMEWORKS.FEDRAMP_MODERATE, "RA-5"],
  },
];

/**
 * Inserts the catalog, or brings existing rows (matched by framework and code)
 * up to date; rows that already match are left untouched.
 */
/**
 * A control's id: the same on every installation (`pci-dss-v3.2.1:11.2`,
 * `fedramp-moderate:ra-5`), so GRC tools and scripts can name controls
 * without looking them up first.
 */
export function controlId(framework: string, code: string): string {
  const slug = (text: string, keep: RegExp) =>
    text
      .toLowerCase()
      .replace(/&/g, '')
      .replace(keep, '-')
      .replace(/^-+|-+$/g, '');
  // Codes keep their parentheses: HIPAA's 164.308(a)(1)(ii)(A) is one code.
  return `${slug(framework, /[^a-z0-9.]+/g)}:${slug(code, /[^a-z0-9.()]+/g)}`;
}

export async function seedControls(db: AppDatabase): Promise<void> {
  await db
    .insert(controls)
    .values(
      CONTROL_CATALOG.map(({ succeeds, ...c }) => ({ id: controlId(c.framework, c.code), ...c, succeeds: succeeds ? controlId(...succeeds) : null })),
    )
    .onConflictDoUpdate({
      target: [controls.framework, controls.code],
      set: {
        name: sql`excluded.name`,
        description: sql`excluded.description`,
        cadence: sql`excluded.cadence`,
        succeeds: sql`excluded.succeeds`,
      },
      setWhere: sql`(${controls.name}, ${controls.description}, ${controls.cadence}, ${controls.succeeds}) is distinct from (excluded.name, excluded.description, excluded.cadence, excluded.succeeds)`,
    });
}
