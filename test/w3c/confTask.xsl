<?xml version="1.0"?>
<!--
  confTask.xsl - turns a W3C SCXML conformance test (.txml, with conf:
  placeholders) into a machine of the `task` datamodel (docs/expressions.md).
  XSLT 1.0:  xsltproc test/w3c/confTask.xsl test144.txml > test144.scxml

  Names: the tests' variables 1, 2, ... become the datamodel names Var1, Var2...
  A placeholder the task language cannot express stops the conversion with
  a message that starts "not applicable:" and says why (the runner,
  run_task.sh, counts such a test as not applicable; docs/w3c-task.md lists
  them).  A placeholder this file does not know stops it with "unknown
  placeholder", so a new test never converts into something meaningless.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:conf="http://www.w3.org/2005/scxml-conformance"
    xmlns="http://www.w3.org/2005/07/scxml"
    exclude-result-prefixes="conf">

<xsl:output method="xml" encoding="UTF-8"/>

<!-- Copy everything else; elements without the namespace declarations
     (xmlns:conf) they no longer need. -->
<xsl:template match="*">
  <xsl:element name="{local-name()}" namespace="{namespace-uri()}">
    <xsl:apply-templates select="@*|node()"/>
  </xsl:element>
</xsl:template>
<xsl:template match="@*|text()|comment()|processing-instruction()">
  <xsl:copy/>
</xsl:template>

<!-- Anything not handled below -->
<xsl:template match="@conf:*">
  <xsl:message terminate="yes">unknown placeholder attribute conf:<xsl:value-of select="local-name()"/></xsl:message>
</xsl:template>
<xsl:template match="conf:*">
  <xsl:message terminate="yes">unknown placeholder element conf:<xsl:value-of select="local-name()"/></xsl:message>
</xsl:template>

<!-- ==== outcome ==== -->

<xsl:template match="@conf:targetpass"><xsl:attribute name="target">pass</xsl:attribute></xsl:template>
<xsl:template match="@conf:targetfail"><xsl:attribute name="target">fail</xsl:attribute></xsl:template>

<!-- The outcome is the final state reached; the log line says it too
     (without an expression in a test of the null datamodel). -->
<xsl:template match="conf:pass|conf:fail">
  <final id="{local-name()}">
    <onentry>
      <xsl:choose>
        <xsl:when test="ancestor::*[@datamodel][1]/@datamodel = 'null'">
          <log label="Outcome: {local-name()}"/>
        </xsl:when>
        <xsl:otherwise>
          <log label="Outcome" expr="'{local-name()}'"/>
        </xsl:otherwise>
      </xsl:choose>
    </onentry>
  </final>
</xsl:template>

<xsl:template match="@conf:datamodel"><xsl:attribute name="datamodel">task</xsl:attribute></xsl:template>

<!-- ==== names and locations ==== -->

<xsl:template match="@conf:id"><xsl:attribute name="id">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:name"><xsl:attribute name="name">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:location"><xsl:attribute name="location">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:systemVarLocation"><xsl:attribute name="location"><xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:idlocation"><xsl:attribute name="idlocation">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:namelist"><xsl:attribute name="namelist">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:item"><xsl:attribute name="item">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:index"><xsl:attribute name="index">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:arrayVar|@conf:arrayTextVar"><xsl:attribute name="array">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>

<!-- A location that names nothing: reading it (param location, namelist)
     and assigning below it are errors of the task datamodel. -->
<xsl:template match="@conf:invalidLocation"><xsl:attribute name="location">nosuchvar[0]</xsl:attribute></xsl:template>
<xsl:template match="@conf:invalidNamelist"><xsl:attribute name="namelist">nosuchvar</xsl:attribute></xsl:template>
<!-- Not a location at all (a string literal): error.execution when the
     <foreach> runs, a warning when the file is loaded. -->
<xsl:template match="@conf:illegalItem"><xsl:attribute name="item">'continue'</xsl:attribute></xsl:template>

<!-- ==== values ==== -->

<xsl:template match="@conf:expr"><xsl:attribute name="expr"><xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:quoteExpr"><xsl:attribute name="expr">'<xsl:value-of select="."/>'</xsl:attribute></xsl:template>
<xsl:template match="@conf:varExpr|@conf:varChildExpr"><xsl:attribute name="expr">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:systemVarExpr"><xsl:attribute name="expr"><xsl:value-of select="."/></xsl:attribute></xsl:template>
<!-- Evaluating it fails at run time (error.execution); a syntax error
     would be refused when the file is loaded. -->
<xsl:template match="@conf:illegalExpr"><xsl:attribute name="expr">1 / 0</xsl:attribute></xsl:template>
<xsl:template match="@conf:illegalArray"><xsl:attribute name="expr">7</xsl:attribute></xsl:template>
<xsl:template match="@conf:invalidSessionID"><xsl:attribute name="expr">27</xsl:attribute></xsl:template>
<xsl:template match="@conf:invalidSendTypeExpr"><xsl:attribute name="expr">27</xsl:attribute></xsl:template>
<xsl:template match="@conf:invalidSendType"><xsl:attribute name="type">27</xsl:attribute></xsl:template>
<xsl:template match="@conf:illegalTarget"><xsl:attribute name="target">baz</xsl:attribute></xsl:template>
<xsl:template match="@conf:unreachableTarget"><xsl:attribute name="target">#_scxml_foo</xsl:attribute></xsl:template>

<xsl:template match="@conf:eventName"><xsl:attribute name="expr">_event.name</xsl:attribute></xsl:template>
<xsl:template match="@conf:eventType"><xsl:attribute name="expr">_event.type</xsl:attribute></xsl:template>
<xsl:template match="@conf:eventSendid"><xsl:attribute name="expr">_event.sendid</xsl:attribute></xsl:template>
<xsl:template match="@conf:eventField"><xsl:attribute name="expr">_event.<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:eventDataFieldValue|@conf:eventDataParamValue"><xsl:attribute name="expr">_event.data.<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:eventDataNamelistValue"><xsl:attribute name="expr">_event.data.Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:scxmlEventIOLocation"><xsl:attribute name="expr">_ioprocessors['http://www.w3.org/TR/scxml/#SCXMLEventProcessor'].location</xsl:attribute></xsl:template>

<!-- the value attributes computed at run time -->
<xsl:template match="@conf:eventExpr"><xsl:attribute name="eventexpr">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:targetExpr|@conf:targetVar"><xsl:attribute name="targetexpr">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:typeExpr"><xsl:attribute name="typeexpr">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:delayExpr|@conf:delayFromVar"><xsl:attribute name="delayexpr">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:sendIDExpr"><xsl:attribute name="sendidexpr">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:srcExpr"><xsl:attribute name="srcexpr">Var<xsl:value-of select="."/></xsl:attribute></xsl:template>

<!-- a delay in seconds: "1", "1.5", ".5" -->
<xsl:template match="@conf:delay"><xsl:attribute name="delay"><xsl:value-of select="."/>s</xsl:attribute></xsl:template>

<!-- ==== conditions ==== -->

<!-- "N op V" ("1=1", "2<3", "1=_sessionid") as "<prefix>N op' <q>V<q>",
     where op' is "==" for "=". -->
<xsl:template name="compare">
  <xsl:param name="s"/>
  <xsl:param name="left" select="'Var'"/>
  <xsl:param name="right" select="''"/>
  <xsl:param name="quote" select="''"/>
  <xsl:variable name="n" select="substring-before(translate($s, '=&lt;&gt;', '###'), '#')"/>
  <xsl:variable name="rest" select="substring($s, string-length($n) + 1)"/>
  <xsl:variable name="oplen" select="1 + number(substring($rest, 2, 1) = '=')"/>
  <xsl:variable name="op" select="substring($rest, 1, $oplen)"/>
  <xsl:value-of select="concat($left, $n, ' ')"/>
  <xsl:choose>
    <xsl:when test="$op = '='">==</xsl:when>
    <xsl:otherwise><xsl:value-of select="$op"/></xsl:otherwise>
  </xsl:choose>
  <xsl:value-of select="concat(' ', $right, $quote, substring($rest, $oplen + 1), $quote)"/>
</xsl:template>

<xsl:template match="@conf:idVal|@conf:namelistIdVal|@conf:idSystemVarVal">
  <xsl:attribute name="cond"><xsl:call-template name="compare"><xsl:with-param name="s" select="."/></xsl:call-template></xsl:attribute>
</xsl:template>
<xsl:template match="@conf:idQuoteVal">
  <xsl:attribute name="cond"><xsl:call-template name="compare"><xsl:with-param name="s" select="."/><xsl:with-param name="quote">'</xsl:with-param></xsl:call-template></xsl:attribute>
</xsl:template>
<xsl:template match="@conf:compareIDVal">
  <xsl:attribute name="cond"><xsl:call-template name="compare"><xsl:with-param name="s" select="."/><xsl:with-param name="right" select="'Var'"/></xsl:call-template></xsl:attribute>
</xsl:template>
<xsl:template match="@conf:eventvarVal">
  <xsl:attribute name="cond"><xsl:call-template name="compare"><xsl:with-param name="s" select="."/><xsl:with-param name="left" select="'_event.data.Var'"/></xsl:call-template></xsl:attribute>
</xsl:template>

<!-- "1 2": the two variables hold equal values (deep equality for
     arrays and objects) -->
<xsl:template match="@conf:VarEqVar|@conf:VarEqVarStruct">
  <xsl:attribute name="cond">Var<xsl:value-of select="substring-before(normalize-space(.), ' ')"/> == Var<xsl:value-of select="substring-after(normalize-space(.), ' ')"/></xsl:attribute>
</xsl:template>

<xsl:template match="@conf:eventNameVal"><xsl:attribute name="cond">_event.name == '<xsl:value-of select="."/>'</xsl:attribute></xsl:template>
<xsl:template match="@conf:eventdataVal"><xsl:attribute name="cond">_event.data == <xsl:value-of select="."/></xsl:attribute></xsl:template>
<xsl:template match="@conf:emptyEventData"><xsl:attribute name="cond">_event.data == null</xsl:attribute></xsl:template>
<xsl:template match="@conf:nameVarVal"><xsl:attribute name="cond">_name == '<xsl:value-of select="."/>'</xsl:attribute></xsl:template>
<xsl:template match="@conf:originTypeEq"><xsl:attribute name="cond">_event.origintype == '<xsl:value-of select="."/>'</xsl:attribute></xsl:template>
<xsl:template match="@conf:inState"><xsl:attribute name="cond">In('<xsl:value-of select="."/>')</xsl:attribute></xsl:template>
<xsl:template match="@conf:true"><xsl:attribute name="cond">true</xsl:attribute></xsl:template>
<xsl:template match="@conf:false"><xsl:attribute name="cond">false</xsl:attribute></xsl:template>

<!-- "has a value": bound to something other than null -->
<xsl:template match="@conf:isBound"><xsl:attribute name="cond">Var<xsl:value-of select="."/> != null</xsl:attribute></xsl:template>
<xsl:template match="@conf:systemVarIsBound"><xsl:attribute name="cond"><xsl:value-of select="."/> != null</xsl:attribute></xsl:template>
<xsl:template match="@conf:unboundVar|@conf:noValue"><xsl:attribute name="cond">Var<xsl:value-of select="."/> == null</xsl:attribute></xsl:template>
<xsl:template match="@conf:eventFieldHasNoValue"><xsl:attribute name="cond">_event.<xsl:value-of select="."/> == null</xsl:attribute></xsl:template>
<xsl:template match="@conf:eventFieldsAreBound">
  <xsl:attribute name="cond">exists(_event.name) &amp;&amp; exists(_event.type) &amp;&amp; exists(_event.sendid) &amp;&amp; exists(_event.origin) &amp;&amp; exists(_event.origintype) &amp;&amp; exists(_event.invokeid) &amp;&amp; exists(_event.data)</xsl:attribute>
</xsl:template>

<!-- Every value of the task language has a truth value; a condition
     whose evaluation fails is the case left (error.execution, false). -->
<xsl:template match="@conf:nonBoolean"><xsl:attribute name="cond">1 / 0</xsl:attribute></xsl:template>

<!-- some inline value: 123 (JSON) -->
<xsl:template match="conf:someInlineVal">123</xsl:template>
<xsl:template match="@conf:idSomeVal"><xsl:attribute name="cond">Var<xsl:value-of select="."/> == 123</xsl:attribute></xsl:template>
<xsl:template match="@conf:eventdataSomeVal"><xsl:attribute name="cond">_event.data == 123</xsl:attribute></xsl:template>

<!-- ==== executable content ==== -->

<xsl:template match="conf:incrementID">
  <assign location="Var{@id}" expr="Var{@id} + 1"/>
</xsl:template>
<xsl:template match="conf:sumVars|conf:concatVars">
  <assign location="Var{@id1}" expr="Var{@id1} + Var{@id2}"/>
</xsl:template>

<!-- the array [1, 2, 3] (JSON content of a <data>) -->
<xsl:template match="conf:array123">[1, 2, 3]</xsl:template>
<!-- One more item at the end of an array made by array123: the task
     language has no array constructor, but assigning at index == size
     appends (index 3 of the three-item array). -->
<xsl:template match="conf:extendArray">
  <assign location="Var{@id}[3]" expr="4"/>
</xsl:template>

<xsl:template match="conf:contentFoo">
  <content>foo</content>
</xsl:template>

<!-- send back to the sender of the current event -->
<xsl:template match="conf:sendToSender">
  <send event="{@name}" targetexpr="_event.origin" typeexpr="_event.origintype"/>
</xsl:template>

<!-- ==== what the task language cannot express ==== -->

<xsl:template match="conf:script">
  <xsl:message terminate="yes">not applicable: the task datamodel has no &lt;script&gt; (its only side effect is &lt;assign&gt;)</xsl:message>
</xsl:template>
<xsl:template match="@conf:varPrefix">
  <xsl:message terminate="yes">not applicable: the task language has no prefix test on strings (contains() tests a substring)</xsl:message>
</xsl:template>

</xsl:stylesheet>
